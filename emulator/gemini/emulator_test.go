package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func post(e *Emulator, path, key, body string) (int, map[string]any) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetMethod("POST")
	if key != "" {
		ctx.Request.Header.Set("x-goog-api-key", key)
	}
	ctx.Request.SetBodyString(body)
	e.Handle(&ctx)
	var out map[string]any
	_ = json.Unmarshal(ctx.Response.Body(), &out)
	return ctx.Response.StatusCode(), out
}

const flash = "/v1beta/models/gemini-3-flash-preview:generateContent"

func TestRejects(t *testing.T) {
	e := New("k")
	f := func(name, path, key, body string, status int, code, msg string) {
		t.Helper()
		got, out := post(e, path, key, body)
		errObj, _ := out["error"].(map[string]any)
		if got != status || errObj["status"] != code || errObj["code"] != float64(status) || !strings.Contains(errObj["message"].(string), msg) {
			t.Errorf("%s: %d %v, want %d %s %q", name, got, out, status, code, msg)
		}
	}
	hi := `"contents":[{"role":"user","parts":[{"text":"hi"}]}]`
	f("no key", flash, "", `{`+hi+`}`, 403, "PERMISSION_DENIED", "unregistered callers")
	f("bad key", flash, "nope", `{`+hi+`}`, 400, "INVALID_ARGUMENT", "API key not valid")
	f("unknown model", "/v1beta/models/gemini-1.0-pro:generateContent", "k", `{`+hi+`}`, 404, "NOT_FOUND", "models/gemini-1.0-pro is not found")
	f("no contents", flash, "k", `{}`, 400, "INVALID_ARGUMENT", "contents is not specified")
	f("unknown field", flash, "k", `{`+hi+`,"temperature":1}`, 400, "INVALID_ARGUMENT", `Unknown name "temperature" at 'temperature'`)
	f("unknown nested field", flash, "k", `{`+hi+`,"generationConfig":{"max_tokens":5}}`, 400, "INVALID_ARGUMENT", `Unknown name "maxTokens"`)
	f("penalty on Gemini 3", flash, "k", `{`+hi+`,"generationConfig":{"frequencyPenalty":0.5}}`, 400, "INVALID_ARGUMENT", "Penalty is not enabled for models/gemini-3-flash-preview")
	f("seed on Gemini 3", flash, "k", `{`+hi+`,"generationConfig":{"seed":1}}`, 400, "INVALID_ARGUMENT", "Seed is not enabled")
	f("six stops", flash, "k", `{`+hi+`,"generationConfig":{"stopSequences":["a","b","c","d","e","f"]}}`, 400, "INVALID_ARGUMENT", "at most 5")
	f("level and budget", flash, "k", `{`+hi+`,"generationConfig":{"thinkingConfig":{"thinkingLevel":"LOW","thinkingBudget":100}}}`, 400, "INVALID_ARGUMENT", "only one of thinking budget and thinking level")
	f("budget 0 on 2.5 Pro", "/v1beta/models/gemini-2.5-pro:generateContent", "k", `{`+hi+`,"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`, 400, "INVALID_ARGUMENT", "only works in thinking mode")
	f("budget too large", "/v1beta/models/gemini-2.5-pro:generateContent", "k", `{`+hi+`,"generationConfig":{"thinkingConfig":{"thinkingBudget":40000}}}`, 400, "INVALID_ARGUMENT", "between 128 and 32768")
	f("bad role", flash, "k", `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, 400, "INVALID_ARGUMENT", "valid role")
	f("two data fields", flash, "k", `{"contents":[{"parts":[{"text":"hi","inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`, 400, "INVALID_ARGUMENT", "Cannot set 'data' twice")
	f("max output over the limit", flash, "k", `{`+hi+`,"generationConfig":{"maxOutputTokens":70000}}`, 400, "INVALID_ARGUMENT", "maxOutputTokens value of 70000")
}

func TestAnswers(t *testing.T) {
	e := New("k")
	// snake_case is accepted as the real API accepts it.
	status, out := post(e, flash, "k", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generation_config":{"max_output_tokens":2,"thinking_config":{"thinking_level":"MINIMAL","include_thoughts":true}}}`)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	cand := out["candidates"].([]any)[0].(map[string]any)
	parts := cand["content"].(map[string]any)["parts"].([]any)
	if cand["finishReason"] != "MAX_TOKENS" || len(parts) != 2 || parts[0].(map[string]any)["thought"] != true {
		t.Errorf("answer %v", out)
	}
	u := out["usageMetadata"].(map[string]any)
	if u["totalTokenCount"].(float64) != u["promptTokenCount"].(float64)+u["candidatesTokenCount"].(float64)+u["thoughtsTokenCount"].(float64) {
		t.Errorf("usage does not add up: %v", u)
	}
}
