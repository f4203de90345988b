package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

type envelope struct {
	Error struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
		EventID string  `json:"event_id"`
	} `json:"error"`
}

// expectError checks status, type, code and param (nil means JSON null) of
// an error response, and that it is a complete OpenAI error envelope.
func expectError(t *testing.T, name string, r *gatewaytest.Response, status int, typ string, code, param any) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %s", name, r.Status, status, r.Body)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	var e envelope
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Errorf("%s: body is not JSON: %s", name, r.Body)
		return
	}
	var raw map[string]map[string]json.RawMessage
	_ = json.Unmarshal(r.Body, &raw)
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][k]; !ok {
			t.Errorf("%s: error envelope lacks %q: %s", name, k, r.Body)
		}
	}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	if e.Error.Message == nil || *e.Error.Message == "" {
		t.Errorf("%s: empty message", name)
	}
	if got := str(e.Error.Type); got != typ {
		t.Errorf("%s: type %v, want %v", name, got, typ)
	}
	if got := str(e.Error.Code); got != code {
		t.Errorf("%s: code %v, want %v (%s)", name, got, code, r.Body)
	}
	if got := str(e.Error.Param); got != param {
		t.Errorf("%s: param %v, want %v (%s)", name, got, param, r.Body)
	}
	for _, secret := range []string{gatewaytest.ClientKey, gatewaytest.UpstreamKey} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("%s: response body contains a key", name)
		}
	}
}

const okMessages = `"messages":[{"role":"user","content":"hi"}]`

func TestAuthAndRoutes(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	chat := []byte(`{"model":"google/gemini-3-flash",` + okMessages + `}`)
	do := func(method, path, auth string, body []byte) *gatewaytest.Response {
		req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(string(body)))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return gatewaytest.ReadResponse(t, resp)
	}
	expectError(t, "no header", do("POST", "/v1/chat/completions", "", chat), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "basic auth", do("POST", "/v1/chat/completions", "Basic dXNlcjpwYXNz", chat), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "empty bearer", do("POST", "/v1/chat/completions", "Bearer ", chat), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "unknown key", do("POST", "/v1/chat/completions", "Bearer sk-optk-nope", chat), 401, "authentication_error", "invalid_key", nil)
	expectError(t, "key prefix", do("POST", "/v1/chat/completions", "Bearer "+gatewaytest.ClientKey[:10], chat), 401, "authentication_error", "invalid_key", nil)
	expectError(t, "models without key", do("GET", "/v1/models", "", nil), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "unknown /v1 route without key", do("GET", "/v1/nope", "", nil), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "unknown /v1 route", do("GET", "/v1/nope", "Bearer "+gatewaytest.ClientKey, nil), 404, "invalid_request_error", "not_found", nil)
	expectError(t, "unknown route", do("GET", "/nope", "", nil), 404, "invalid_request_error", "not_found", nil)
	expectError(t, "wrong method", do("GET", "/v1/chat/completions", "Bearer "+gatewaytest.ClientKey, nil), 405, "invalid_request_error", "method_not_allowed", nil)

	if r := do("GET", "/health", "", nil); r.Status != 200 || string(r.Body) != `{"status":"ok"}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("health: %d %s", r.Status, r.Body)
	}
	for _, key := range []string{gatewaytest.ClientKey, "sk-optk-second-key"} {
		if r := do("POST", "/v1/chat/completions", "Bearer "+key, chat); r.Status != 200 {
			t.Errorf("valid key: status %d: %s", r.Status, r.Body)
		}
	}
}

func TestBadRequests(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{MaxBodyBytes: 64 << 10}})
	f := func(name, body string, status int, code, param any) {
		t.Helper()
		before := env.Anthropic.Requests.Count() + env.Gemini.Requests.Count()
		expectError(t, name, env.Chat(t, body), status, "invalid_request_error", code, param)
		if n := env.Anthropic.Requests.Count() + env.Gemini.Requests.Count(); n != before {
			t.Errorf("%s: a rejected request reached an upstream", name)
		}
	}
	m := `"model":"anthropic/claude-sonnet-4-5",`
	f("empty body", ``, 400, nil, nil)
	f("malformed JSON", `{"model":`, 400, nil, nil)
	f("not an object", `[1,2]`, 400, nil, nil)
	f("trailing garbage", `{"model":"x"} x`, 400, nil, nil)
	f("missing model", `{`+okMessages+`}`, 400, nil, "model")
	f("missing messages", `{`+m+`"temperature":1}`, 400, nil, "messages")
	f("empty messages", `{`+m+`"messages":[]}`, 400, nil, "messages")
	f("only a system message", `{`+m+`"messages":[{"role":"system","content":"x"}]}`, 400, nil, "messages")
	f("bad role", `{`+m+`"messages":[{"role":"robot","content":"x"}]}`, 400, nil, "messages[0].role")
	f("bad part type", `{`+m+`"messages":[{"role":"user","content":[{"type":"video","text":"x"}]}]}`, 400, nil, "messages[0].content[0].type")
	f("content of a wrong type", `{`+m+`"messages":[{"role":"user","content":5}]}`, 400, nil, "messages[0].content")
	f("role of a wrong type", `{`+m+`"messages":[{"role":"user","content":"x"},{"role":5,"content":"x"}]}`, 400, nil, "messages[1].role")
	f("part text of a wrong type", `{`+m+`"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":5}]}]}`, 400, nil, "messages[0].content[1].text")
	f("messages not an array", `{`+m+`"messages":{}}`, 400, nil, "messages")
	f("wrong type", `{`+m+okMessages+`,"temperature":"hot"}`, 400, nil, "temperature")
	f("wrong type integer", `{`+m+okMessages+`,"max_tokens":1.5}`, 400, nil, "max_tokens")
	f("out of range", `{`+m+okMessages+`,"temperature":2.5}`, 400, nil, "temperature")
	f("negative penalty range", `{`+m+okMessages+`,"frequency_penalty":-3}`, 400, nil, "frequency_penalty")
	f("top_logprobs range", `{`+m+okMessages+`,"top_logprobs":21}`, 400, nil, "top_logprobs")
	f("max_tokens zero", `{`+m+okMessages+`,"max_tokens":0}`, 400, nil, "max_tokens")
	f("bad enum", `{`+m+okMessages+`,"reasoning_effort":"extreme"}`, 400, nil, "reasoning_effort")
	f("bad reasoning effort", `{`+m+okMessages+`,"reasoning":{"effort":"extreme"}}`, 400, nil, "reasoning.effort")
	f("too many stops for Gemini", `{"model":"google/gemini-3-flash",`+okMessages+`,"stop":["a","b","c","d","e","f"]}`, 400, nil, "stop")
	f("stop of a wrong type", `{`+m+okMessages+`,"stop":7}`, 400, nil, "stop")
	f("stop item of a wrong type", `{`+m+okMessages+`,"stop":["a",7]}`, 400, nil, "stop")
	f("tools not an array", `{`+m+okMessages+`,"tools":{}}`, 400, nil, "tools")
	f("unknown field", `{`+m+okMessages+`,"temprature":0.5}`, 400, nil, "temprature")
	f("unregistered model", `{"model":"openai/gpt-4o",`+okMessages+`}`, 400, "model_not_found", "model")
	f("embeddings model", `{"model":"google/gemini-embedding-001",`+okMessages+`}`, 400, "model_not_supported", "model")
	f("no provider", `{"model":"claude-sonnet-4-6",`+okMessages+`}`, 400, "model_not_found", "model")
	if r := env.Chat(t, `{"model":"claude-sonnet-4-6",`+okMessages+`}`); !strings.Contains(string(r.Body), `did you mean \"anthropic/claude-sonnet-4-6\"?`) {
		t.Errorf("an id without its provider names the id meant: %s", r.Body)
	}
	if r := env.Chat(t, `{"model":"google/gemini-3-flsh",`+okMessages+`}`); !strings.Contains(string(r.Body), `did you mean \"google/gemini-3-flash\"?`) {
		t.Errorf("a typo names the id meant: %s", r.Body)
	}
	f("custom tool", `{`+m+okMessages+`,"tools":[{"type":"custom","custom":{"name":"f"}}]}`, 400, nil, "tools")
	f("tool name", `{`+m+okMessages+`,"tools":[{"type":"function","function":{"name":"get weather"}}]}`, 400, nil, "tools")
	f("tool name too long", `{`+m+okMessages+`,"tools":[{"type":"function","function":{"name":"`+strings.Repeat("a", 65)+`"}}]}`, 400, nil, "tools")
	f("tools and functions", `{`+m+okMessages+`,"tools":[{"type":"function","function":{"name":"f"}}],"functions":[{"name":"f"}]}`, 400, nil, "functions")
	f("tool_choice unknown function", `{`+m+okMessages+`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, 400, nil, "tool_choice")
	f("tool_choice required without tools", `{"model":"google/gemini-3-flash",`+okMessages+`,"tool_choice":"required"}`, 400, nil, "tools")
	f("response_format type", `{`+m+okMessages+`,"response_format":{"type":"xml"}}`, 400, nil, "response_format")
	f("json_schema without name", `{`+m+okMessages+`,"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}`, 400, nil, "response_format")
	f("external $ref", `{`+m+okMessages+`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}}}}`, 400, nil, "response_format.json_schema.schema.properties.a.$ref")
	f("gemini 2.5 tools with json", `{"model":"google/gemini-2.5-pro",`+okMessages+`,"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"}}`, 400, "unsupported_parameter", "response_format")
	f("n above 1", `{`+m+okMessages+`,"n":2}`, 400, "unsupported_parameter", "n")
	f("tool message without a call", `{`+m+`"messages":[{"role":"user","content":"x"},{"role":"tool","content":"y","tool_call_id":"c"}]}`, 400, nil, "messages[1].tool_call_id")
	f("unanswered call", `{`+m+`"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"y"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, 400, nil, "messages")
	f("arguments not JSON", `{`+m+`"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{city"}}]},{"role":"tool","tool_call_id":"c1","content":"y"}]}`, 400, nil, "messages[1].tool_calls[0].function.arguments")
	f("audio part", `{`+m+`"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, 400, "unsupported_parameter", "messages[0].content[0]")
	f("gemini http image", `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, 400, nil, "messages[0].content[0].image_url.url")
	f("claude bad image type", `{`+m+`"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}`, 400, nil, "messages[0].content[0].image_url.url")

	expectError(t, "too large", oversized(t, env, 70<<10), 413, "invalid_request_error", "request_too_large", nil)

	r := env.Chat(t, `{"model":"openai/gpt-4o",`+okMessages+`}`)
	var e envelope
	_ = json.Unmarshal(r.Body, &e)
	if *e.Error.Message != `model "openai/gpt-4o" not found` {
		t.Errorf("model_not_found message = %q", *e.Error.Message)
	}
}

func TestUpstreamFailures(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{UpstreamTimeout: time.Second}})
	claude := `{"model":"anthropic/claude-haiku-4-5",` + okMessages + `}`
	gemini := `{"model":"google/gemini-2.5-pro",` + okMessages + `}`
	anthropicError := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_1"}`
	}

	env.Anthropic.Faults.Push(emulator.Fault{Status: 429, Body: anthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), Header: map[string]string{"retry-after": "17"}})
	r := env.Chat(t, claude)
	expectError(t, "upstream 429", r, 429, "upstream_error", "upstream_error", nil)
	if r.Header.Get("Retry-After") != "17" || !strings.Contains(string(r.Body), "per-minute rate limit") {
		t.Errorf("upstream 429: Retry-After %q, body %s", r.Header.Get("Retry-After"), r.Body)
	}
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: anthropicError("overloaded_error", "Overloaded")})
	expectError(t, "upstream 529", env.Chat(t, claude), 503, "upstream_error", "no_supplier", nil)
	env.Anthropic.Faults.Push(emulator.Fault{Status: 500, Body: anthropicError("api_error", "Internal server error")})
	expectError(t, "upstream 500", env.Chat(t, claude), 503, "upstream_error", "no_supplier", nil)
	env.Gemini.Faults.Push(emulator.Fault{Status: 503, Body: `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`})
	expectError(t, "gemini 503", env.Chat(t, gemini), 503, "upstream_error", "no_supplier", nil)
	env.Anthropic.Faults.Push(emulator.Fault{Status: 400, Body: anthropicError("invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum")})
	r = env.Chat(t, claude)
	expectError(t, "upstream 400", r, 400, "upstream_error", "upstream_error", nil)
	if !strings.Contains(string(r.Body), "prompt is too long") {
		t.Errorf("upstream 400: the upstream's message is lost: %s", r.Body)
	}
	env.Anthropic.Faults.Push(emulator.Fault{Status: 401, Body: anthropicError("authentication_error", "invalid x-api-key")})
	expectError(t, "upstream 401", env.Chat(t, claude), 502, "upstream_error", "upstream_auth_failed", nil)
	env.Anthropic.Faults.Push(emulator.Fault{Status: 403, Body: anthropicError("permission_error", "no access")})
	expectError(t, "upstream 403", env.Chat(t, claude), 502, "upstream_error", "upstream_auth_failed", nil)
	env.Gemini.Faults.Push(emulator.Fault{Status: 400, Body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`})
	expectError(t, "gemini bad key", env.Chat(t, gemini), 502, "upstream_error", "upstream_auth_failed", nil)
	env.Gemini.Faults.Push(emulator.Fault{Status: 200, Body: `{"candidates":[{"content":`})
	expectError(t, "malformed upstream body", env.Chat(t, gemini), 502, "upstream_error", "upstream_error", nil)
	env.Anthropic.Faults.Push(emulator.Fault{Status: 502, Body: `<html>bad gateway</html>`})
	expectError(t, "upstream HTML error", env.Chat(t, claude), 503, "upstream_error", "no_supplier", nil)

	hang := make(chan struct{})
	env.Anthropic.Faults.Push(emulator.Fault{Hang: hang})
	r = env.Chat(t, claude)
	close(hang)
	expectError(t, "upstream timeout", r, 504, "upstream_error", "upstream_timeout", nil)

	// A pooled connection closed without an answer is what an upstream's
	// idle close looks like: the request goes once more, on a new one.
	before := env.Gemini.Requests.Count()
	env.Gemini.Faults.Push(emulator.Fault{Reset: true})
	if r := env.Chat(t, gemini); r.Status != 200 || env.Gemini.Requests.Count() != before+2 {
		t.Errorf("reset of a reused connection: status %d after %d attempts, want 200 after 2: %s", r.Status, env.Gemini.Requests.Count()-before, r.Body)
	}

	// After every failure the gateway still serves.
	if r := env.Chat(t, claude); r.Status != 200 {
		t.Errorf("after failures: %d %s", r.Status, r.Body)
	}
	for _, secret := range []string{gatewaytest.ClientKey, gatewaytest.UpstreamKey} {
		if strings.Contains(env.Log.String(), secret) {
			t.Errorf("the log contains a key:\n%s", env.Log.String())
		}
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{AnthropicURL: gatewaytest.DeadURL(t)})
	expectError(t, "connection refused", env.Chat(t, `{"model":"anthropic/claude-opus-4-7",`+okMessages+`}`), 503, "upstream_error", "no_supplier", nil)
}

// oversized announces a body of size bytes and sends none of it. The gateway
// must answer 413 from the header alone; sending the body too would race the
// server's close against the client's write, which HTTP leaves undefined.
func oversized(t *testing.T, env *gatewaytest.Env, size int) *gatewaytest.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", gatewaytest.ClientKey, size)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gatewaytest.ReadResponse(t, resp)
}

// TestUpstreamSizeLimits: requests past what the emulators' fasthttp read
// by default (4 MB) are served, and past each API's documented limit are
// refused as that API refuses them — Anthropic's 413 request_too_large
// over 32 MB, Gemini's 400 over 20 MB — never a reset reported as 503.
func TestUpstreamSizeLimits(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{MaxBodyBytes: 64 << 20}})
	chat := func(model string, size int) *gatewaytest.Response {
		text := strings.Repeat("word ", size/5)
		return env.Chat(t, `{"model":"`+model+`","max_tokens":16,"messages":[{"role":"user","content":"`+text+`"}]}`)
	}
	for _, model := range []string{"anthropic/claude-haiku-4-5", "google/gemini-3-flash"} {
		if r := chat(model, 5<<20); r.Status != 200 {
			t.Errorf("%s, 5 MB: %d %.300s", model, r.Status, r.Body)
		}
	}
	if r := chat("google/gemini-3-flash", 21<<20); r.Status != 400 || !strings.Contains(string(r.Body), "Request payload size exceeds the limit: 20971520 bytes.") {
		t.Errorf("gemini, 21 MB: %d %.300s", r.Status, r.Body)
	}
	if r := chat("anthropic/claude-haiku-4-5", 33<<20); r.Status != 413 || !strings.Contains(string(r.Body), "Request exceeds the maximum size") {
		t.Errorf("claude, 33 MB: %d %.300s", r.Status, r.Body)
	}
}
