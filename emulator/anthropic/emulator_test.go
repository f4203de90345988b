package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func post(e *Emulator, body string, headers map[string]string) (int, map[string]any) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/messages")
	ctx.Request.Header.SetMethod("POST")
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyString(body)
	e.Handle(&ctx)
	var out map[string]any
	_ = json.Unmarshal(ctx.Response.Body(), &out)
	return ctx.Response.StatusCode(), out
}

var auth = map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}

// TestRejects checks the rejections the real API makes, with its status,
// error type and message.
func TestRejects(t *testing.T) {
	e := New("k")
	f := func(name string, headers map[string]string, body string, status int, typ, msg string) {
		t.Helper()
		got, out := post(e, body, headers)
		errObj, _ := out["error"].(map[string]any)
		if got != status || out["type"] != "error" || errObj["type"] != typ || !strings.Contains(errObj["message"].(string), msg) {
			t.Errorf("%s: %d %v, want %d %s %q", name, got, out, status, typ, msg)
		}
	}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	f("no key", map[string]string{"anthropic-version": "2023-06-01"}, `{}`, 401, "authentication_error", "x-api-key header is required")
	f("bad key", map[string]string{"x-api-key": "x", "anthropic-version": "2023-06-01"}, `{}`, 401, "authentication_error", "invalid x-api-key")
	f("no version", map[string]string{"x-api-key": "k"}, `{}`, 400, "invalid_request_error", "anthropic-version: header is required")
	f("missing max_tokens", auth, `{"model":"claude-haiku-4-5",`+msgs+`}`, 400, "invalid_request_error", "max_tokens: Field required")
	f("max_tokens above the limit", auth, `{"model":"claude-haiku-4-5","max_tokens":64001,`+msgs+`}`, 400, "invalid_request_error", "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5")
	f("unknown field", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"seed":1,`+msgs+`}`, 400, "invalid_request_error", "seed: Extra inputs are not permitted")
	f("unknown nested field", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi","name":"x"}]}`, 400, "invalid_request_error", "messages.0.name: Extra inputs are not permitted")
	f("stop_sequences not a list", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"stop_sequences":"END",`+msgs+`}`, 400, "invalid_request_error", "stop_sequences: Input should be a valid list")
	f("both sampling", auth, `{"model":"claude-sonnet-4-5","max_tokens":10,"temperature":0.5,"top_p":0.5,`+msgs+`}`, 400, "invalid_request_error", "cannot both be specified")
	f("temperature over 1", auth, `{"model":"claude-sonnet-4-5","max_tokens":10,"temperature":1.5,`+msgs+`}`, 400, "invalid_request_error", "temperature: Input should be less than or equal to 1")
	for _, p := range []string{"temperature", "top_p", "top_k"} {
		f(p+" on Opus 4.7", auth, `{"model":"claude-opus-4-7","max_tokens":10,"`+p+`":1,`+msgs+`}`, 400, "invalid_request_error", "`"+p+"` is deprecated for this model.")
	}
	f("top_k with thinking", auth, `{"model":"claude-sonnet-4-5","max_tokens":4096,"top_k":5,"thinking":{"type":"enabled","budget_tokens":2048},`+msgs+`}`, 400, "invalid_request_error", "`top_k` may not be set when thinking is enabled")
	f("temperature with adaptive thinking", auth, `{"model":"claude-opus-4-6","max_tokens":4096,"temperature":0.2,"thinking":{"type":"adaptive"},`+msgs+`}`, 400, "invalid_request_error", "`temperature` may only be set to 1")
	f("adaptive on a 4.5 model", auth, `{"model":"claude-haiku-4-5","max_tokens":4096,"thinking":{"type":"adaptive"},`+msgs+`}`, 400, "invalid_request_error", "thinking.type.adaptive is not supported")
	f("xhigh on Opus 4.6", auth, `{"model":"claude-opus-4-6","max_tokens":4096,"thinking":{"type":"adaptive"},"output_config":{"effort":"xhigh"},`+msgs+`}`, 400, "invalid_request_error", "output_config.effort")
	f("unknown model", auth, `{"model":"claude-3-opus","max_tokens":10,`+msgs+`}`, 404, "not_found_error", "model: claude-3-opus")
	f("system role in messages", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "messages.0.role")
	f("empty messages", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[]}`, 400, "invalid_request_error", "at least one message")
	f("bad image type", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AA=="}}]}]}`, 400, "invalid_request_error", "media_type")
	f("not JSON", auth, `{`, 400, "invalid_request_error", "error parsing the body")
	f("whitespace stop", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"stop_sequences":["\n"],`+msgs+`}`, 400, "invalid_request_error", "stop_sequences: each stop sequence must contain non-whitespace")
	f("empty stop", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"stop_sequences":[""],`+msgs+`}`, 400, "invalid_request_error", "stop_sequences: each stop sequence must be non-empty")
	f("whitespace text", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":" "}]}`, 400, "invalid_request_error", "messages: text content blocks must contain non-whitespace text")
	f("empty assistant block", auth, `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":""}]}]}`, 400, "invalid_request_error", "must contain non-whitespace text")
}

// TestAnswers checks a valid request's answer: text, stop reasons, thinking,
// usage and prompt caching.
func TestAnswers(t *testing.T) {
	e := New("k")
	status, out := post(e, `{"model":"claude-sonnet-4-5","max_tokens":3,"messages":[{"role":"user","content":"count to ten please"}]}`, auth)
	if status != 200 || out["stop_reason"] != "max_tokens" {
		t.Errorf("max_tokens: %d %v", status, out)
	}
	status, out = post(e, `{"model":"claude-sonnet-4-5","max_tokens":100,"stop_sequences":["reply"],"messages":[{"role":"user","content":"hi"}]}`, auth)
	if status != 200 || out["stop_reason"] != "stop_sequence" || out["stop_sequence"] != "reply" {
		t.Errorf("stop_sequence: %d %v", status, out)
	}
	status, out = post(e, `{"model":"claude-opus-4-7","max_tokens":4096,"thinking":{"type":"adaptive"},"output_config":{"effort":"xhigh"},"messages":[{"role":"user","content":"hi"}]}`, auth)
	content, _ := out["content"].([]any)
	if status != 200 || len(content) != 2 || content[0].(map[string]any)["type"] != "thinking" {
		t.Errorf("thinking: %d %v", status, out)
	}
	cached := `{"model":"claude-haiku-4-5","max_tokens":100,"system":[{"type":"text","text":"` + strings.Repeat("policy ", 3000) + `","cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"hi"}]}`
	_, first := post(e, cached, auth)
	_, second := post(e, cached, auth)
	u1, u2 := first["usage"].(map[string]any), second["usage"].(map[string]any)
	if u1["cache_creation_input_tokens"].(float64) == 0 || u1["cache_read_input_tokens"].(float64) != 0 ||
		u1["cache_creation"].(map[string]any)["ephemeral_1h_input_tokens"] != u1["cache_creation_input_tokens"] ||
		u2["cache_read_input_tokens"].(float64) == 0 || u2["cache_creation_input_tokens"].(float64) != 0 {
		t.Errorf("prompt caching: first %v, second %v", u1, u2)
	}
	// A prefix under the model's minimum is silently not cached.
	short := `{"model":"claude-haiku-4-5","max_tokens":100,"system":[{"type":"text","text":"` + strings.Repeat("rule ", 500) + `","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`
	post(e, short, auth)
	if _, again := post(e, short, auth); again["usage"].(map[string]any)["cache_read_input_tokens"].(float64) != 0 {
		t.Errorf("a short prefix was cached: %v", again["usage"])
	}
}

func TestCacheBreakpointRules(t *testing.T) {
	e := New("k")
	block := func(ttl string) string {
		if ttl == "" {
			return `{"type":"text","text":"part","cache_control":{"type":"ephemeral"}}`
		}
		return `{"type":"text","text":"part","cache_control":{"type":"ephemeral","ttl":"` + ttl + `"}}`
	}
	for _, c := range []struct {
		system []string
		want   string
	}{
		{[]string{block(""), block(""), block(""), block(""), block("")}, "A maximum of 4 blocks with cache_control may be provided. Found 5."},
		{[]string{block("5m"), block("1h")}, "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block"},
		{[]string{block("2h")}, "cache_control.ttl: Input should be '5m' or '1h'"},
	} {
		status, out := post(e, `{"model":"claude-sonnet-4-5","max_tokens":10,"system":[`+strings.Join(c.system, ",")+`],"messages":[{"role":"user","content":"hi"}]}`, auth)
		msg, _ := out["error"].(map[string]any)["message"].(string)
		if status != 400 || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%v: %d %q", c.system, status, msg)
		}
	}
	if status, out := post(e, `{"model":"claude-sonnet-4-5","max_tokens":10,"system":[`+block("1h")+`,`+block("5m")+`],"messages":[{"role":"user","content":"hi"}]}`, auth); status != 200 {
		t.Errorf("1h before 5m: %d %v", status, out)
	}
}
