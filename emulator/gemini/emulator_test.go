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
	f("a retired model", "/v1beta/models/text-embedding-004:batchEmbedContents", "k", `{"requests":[]}`, 404, "NOT_FOUND", "models/text-embedding-004 is not found")
	f("no contents", flash, "k", `{}`, 400, "INVALID_ARGUMENT", "contents is not specified")
	f("unknown field", flash, "k", `{`+hi+`,"temperature":1}`, 400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "temperature": Cannot find field.`)
	// The name as sent, at its parent's proto path.
	f("unknown nested field", flash, "k", `{`+hi+`,"generationConfig":{"max_tokens":5}}`, 400, "INVALID_ARGUMENT", `Unknown name "max_tokens" at 'generation_config': Cannot find field.`)
	f("unknown snake_case field", flash, "k", `{`+hi+`,"generation_config":{"min_p":0.1}}`, 400, "INVALID_ARGUMENT", `Unknown name "min_p" at 'generation_config': Cannot find field.`)
	f("unknown field in a part", flash, "k", `{"contents":[{"role":"user","parts":[{"text":"hi","cache_control":{}}]}]}`, 400, "INVALID_ARGUMENT", `Unknown name "cache_control" at 'contents[0].parts[0]': Cannot find field.`)
	// parameters is the OpenAPI Schema subset: JSON Schema's keywords are
	// unknown names there (parametersJsonSchema takes them).
	decl := func(params string) string {
		return `{` + hi + `,"tools":[{"functionDeclarations":[{"name":"f","parameters":` + params + `}]}]}`
	}
	f("additionalProperties in parameters", flash, "k", decl(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`), 400, "INVALID_ARGUMENT",
		`Invalid JSON payload received. Unknown name "additionalProperties" at 'tools[0].function_declarations[0].parameters': Cannot find field.`)
	f("$schema in a nested property", flash, "k", decl(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"object","const":1}}}`), 400, "INVALID_ARGUMENT",
		`Unknown name "const" at 'tools[0].function_declarations[0].parameters.properties[1].value': Cannot find field.`)
	f("a list of types in parameters", flash, "k", decl(`{"type":"object","properties":{"a":{"type":["string","null"]}}}`), 400, "INVALID_ARGUMENT",
		`Proto field is not repeating, cannot start list.`)
	if got, out := post(e, flash, "k", `{`+hi+`,"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"type":"object","additionalProperties":false}},`+
		`{"name":"g","parameters":{"type":"object","properties":{"a":{"type":"string","nullable":true}},"required":["a"]}}]}]}`); got != 200 {
		t.Errorf("full JSON Schema in parametersJsonSchema, the subset in parameters: %d %v", got, out)
	}
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
