package adapter

import (
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
)

func call(t *testing.T, model, extra string) *Call {
	t.Helper()
	var req llm.Request
	if e := openai.DecodeChat([]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]`+extra+`}`), &req); e != nil {
		t.Fatalf("%s %s: %s", model, extra, e.Message)
	}
	c, e := NewCall(&req, generated.Lookup(model))
	if e != nil {
		t.Fatalf("%s %s: %s", model, extra, e.Message)
	}
	return c
}

// TestThinkingResolution pins how the OpenAI/OpenRouter reasoning fields map
// onto each thinking style.
func TestThinkingResolution(t *testing.T) {
	f := func(model, extra string, requested, on bool, budget int64, level string, exclude bool) {
		t.Helper()
		got := call(t, model, extra).Thinking
		if got.Requested != requested || got.On != on || got.Budget != budget || got.Level != level || got.Exclude != exclude {
			t.Errorf("%s %s: %+v, want requested=%v on=%v budget=%d level=%q exclude=%v", model, extra, got, requested, on, budget, level, exclude)
		}
	}
	f("anthropic/claude-sonnet-4-5", ``, false, false, 0, "", false)
	f("anthropic/claude-sonnet-4-5", `,"reasoning":{}`, true, true, 8192, "", false) // enabled without a size: medium
	f("anthropic/claude-sonnet-4-5", `,"reasoning_effort":"none"`, true, false, 0, "", false)
	f("anthropic/claude-sonnet-4-5", `,"reasoning":{"max_tokens":100}`, true, true, 1024, "", false) // clamped up
	f("anthropic/claude-sonnet-4-5", `,"reasoning":{"max_tokens":99999}`, true, true, 32000, "", false)
	f("anthropic/claude-sonnet-4-5", `,"reasoning":{"effort":"high","enabled":false}`, true, false, 0, "", false)
	f("anthropic/claude-haiku-4-5", `,"include_reasoning":true`, true, true, 8192, "", false)
	f("anthropic/claude-haiku-4-5", `,"include_reasoning":false`, false, false, 0, "", true)
	f("anthropic/claude-haiku-4-5", `,"reasoning":{"effort":"low","exclude":true}`, true, true, 2048, "", true)
	f("anthropic/claude-opus-4-6", `,"reasoning_effort":"xhigh"`, true, true, 0, "high", false)
	f("anthropic/claude-opus-4-7", `,"reasoning_effort":"xhigh"`, true, true, 0, "xhigh", false)
	f("anthropic/claude-opus-4-7", `,"reasoning_effort":"minimal"`, true, true, 0, "low", false)
	f("anthropic/claude-opus-4-7", `,"reasoning":{"effort":"high"},"reasoning_effort":"low"`, true, true, 0, "high", false) // the object wins
	f("google/gemini-2.5-pro", `,"reasoning_effort":"none"`, true, false, 0, "", false)                                     // omit thinkingConfig
	f("google/gemini-2.5-pro", `,"reasoning":{"max_tokens":50000}`, true, true, 32768, "", false)
	f("google/gemini-3.1-pro", `,"reasoning_effort":"minimal"`, true, true, 0, "LOW", false)
	f("google/gemini-3-flash", `,"reasoning_effort":"minimal"`, true, true, 0, "MINIMAL", false)
	f("google/gemini-3-flash", `,"reasoning_effort":"max"`, true, true, 0, "HIGH", false)
}

// TestMaxTokens pins the output limit sent upstream.
func TestMaxTokens(t *testing.T) {
	f := func(model, extra string, want, wantBudget int64) {
		t.Helper()
		c := call(t, model, extra)
		if c.MaxTokens != want || c.Thinking.Budget != wantBudget {
			t.Errorf("%s %s: max_tokens %d budget %d, want %d %d", model, extra, c.MaxTokens, c.Thinking.Budget, want, wantBudget)
		}
	}
	f("anthropic/claude-haiku-4-5", ``, 8192, 0)                                             // the model's default
	f("google/gemini-3-flash", ``, 0, 0)                                                     // none sent
	f("anthropic/claude-haiku-4-5", `,"max_tokens":100000`, 64000, 0)                        // clamped to the model's limit
	f("anthropic/claude-haiku-4-5", `,"max_completion_tokens":300`, 300, 0)                  // the alias
	f("anthropic/claude-haiku-4-5", `,"max_tokens":200,"max_completion_tokens":300`, 200, 0) // max_tokens wins
	// A client's max_tokens is a cap: the budget fits below it, or thinking
	// is dropped (TestThinkingDroppedUnderACap).
	f("anthropic/claude-haiku-4-5", `,"max_tokens":500,"reasoning_effort":"low"`, 500, 0)         // no room: thinking dropped
	f("anthropic/claude-haiku-4-5", `,"max_tokens":60000,"reasoning_effort":"max"`, 60000, 32000) // room enough already
	f("anthropic/claude-haiku-4-5", `,"max_tokens":20000,"reasoning_effort":"max"`, 20000, 10000) // cut to half the cap
	f("anthropic/claude-haiku-4-5", `,"max_tokens":1500,"reasoning_effort":"max"`, 1500, 1024)    // at least the minimum
	f("anthropic/claude-haiku-4-5", `,"reasoning_effort":"high"`, 24576, 16384)                   // no cap: the default grows
	f("anthropic/claude-opus-4-7", `,"max_tokens":500,"reasoning_effort":"low"`, 500, 0)          // adaptive: no budget
}

// TestThinkingDroppedUnderACap: a cap too small for the minimum budget
// turns thinking off; the sampling parameters that thinking excluded are
// forwarded again, and the reasoning asked for is reported as dropped.
func TestThinkingDroppedUnderACap(t *testing.T) {
	c := call(t, "anthropic/claude-haiku-4-5", `,"max_tokens":300,"reasoning_effort":"high","temperature":0.5`)
	if c.Thinking.On || c.Thinking.Budget != 0 || c.MaxTokens != 300 {
		t.Errorf("thinking %+v, max_tokens %d", c.Thinking, c.MaxTokens)
	}
	if !c.Forward.Has(generated.ParamTemperature) || !c.Dropped().Has(generated.ParamReasoningEffort) {
		t.Errorf("forward %b, dropped %b", c.Forward, c.Dropped())
	}
}

// TestGeminiNoneShowsNoReasoning: Gemini 3 cannot stop thinking, so
// reasoning_effort none thinks least, and shows none of it.
func TestGeminiNoneShowsNoReasoning(t *testing.T) {
	for _, extra := range []string{`,"reasoning_effort":"none"`, `,"reasoning":{"enabled":false}`} {
		c := call(t, "google/gemini-3-flash", extra)
		if !c.Thinking.Exclude || c.Thinking.Level != "MINIMAL" {
			t.Errorf("%s: %+v", extra, c.Thinking)
		}
	}
}

// TestNoOpsAccepted: values that ask for nothing are accepted, not refused.
func TestNoOpsAccepted(t *testing.T) {
	for _, extra := range []string{`,"tools":[]`, `,"tool_choice":"none"`, `,"tools":[],"tool_choice":"none"`, `,"response_format":{"type":"text"}`} {
		c := call(t, "anthropic/claude-sonnet-4-5", extra)
		if c.Dropped() != 0 {
			t.Errorf("%s: reported as dropped: %b", extra, c.Dropped())
		}
	}
	// Values that do ask for something are served, not dropped.
	for _, extra := range []string{`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"`, `,"response_format":{"type":"json_object"}`,
		`,"parallel_tool_calls":true`, `,"tool_choice":"auto"`} {
		c := call(t, "anthropic/claude-sonnet-4-5", extra)
		if c.Dropped() != 0 {
			t.Errorf("%s: reported as dropped: %b", extra, c.Dropped())
		}
	}
}

// TestVisionCapability: a model whose capabilities lack vision refuses
// image parts before any upstream call, naming the part.
func TestVisionCapability(t *testing.T) {
	var req llm.Request
	body := `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`
	if e := openai.DecodeChat([]byte(body), &req); e != nil {
		t.Fatal(e.Message)
	}
	blind := *generated.Lookup(req.Model)
	blind.Caps &^= 1 << matrix.CapVision
	blind.Inputs &^= 1 << matrix.ModImage
	if _, e := NewCall(&req, &blind); e == nil || e.Code != llm.CodeUnsupportedParameter || e.Param != "messages[1].content[1]" {
		t.Errorf("got %+v, want unsupported_parameter at messages[1].content[1]", e)
	}
	if _, e := NewCall(&req, generated.Lookup(req.Model)); e != nil {
		t.Errorf("a model that sees: %s", e.Message)
	}
}
