package server_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
)

// sampleValues is a valid value of every accepted parameter. Temperature is
// above Anthropic's range so that its clamp shows on the wire.
var sampleValues = map[string]string{
	"temperature": `1.5`, "top_p": `0.9`, "top_k": `40`, "frequency_penalty": `0.5`, "presence_penalty": `0.25`,
	"repetition_penalty": `1.1`, "min_p": `0.05`, "top_a": `0.2`, "seed": `42`, "max_tokens": `100`,
	"max_completion_tokens": `120`, "stop": `["END","HALT"]`, "logit_bias": `{"50256":-100}`, "logprobs": `true`,
	"top_logprobs": `3`, "reasoning": `{"effort":"high"}`, "reasoning_effort": `"low"`, "include_reasoning": `true`,
	"verbosity": `"low"`, "user": `"user-1"`, "service_tier": `"auto"`, "metadata": `{"team":"a"}`, "store": `false`,
	"safety_identifier": `"sid"`, "prompt_cache_key": `"pck"`, "prompt_cache_retention": `"24h"`,
	"prompt_cache_options": `{"ttl":"30m"}`, "modalities": `["text"]`, "moderation": `{"model":"omni-moderation-latest"}`,
	"stream_options": `{"include_usage":true}`, "stream": `false`, "n": `1`,
	"tools": `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`, "tool_choice": `"auto"`,
	"parallel_tool_calls": `false`, "functions": `[{"name":"f"}]`, "function_call": `"auto"`,
	"response_format": `{"type":"json_object"}`, "audio": `{"voice":"alloy","format":"mp3"}`,
	"prediction": `{"type":"content","content":"x"}`, "web_search_options": `{}`,
	"models": `["anthropic/claude-haiku-4-5"]`, "provider": `{"allow_fallbacks":true}`, "route": `"fallback"`,
	"usage": `{"include":true}`, "transforms": `["middle-out"]`, "plugins": `[{"id":"web"}]`, "debug": `{"echo_upstream_body":false}`,
}

func TestSampleValuesCoverTheSuperset(t *testing.T) {
	for _, s := range generated.ParamSpecs {
		if _, ok := sampleValues[s.Name]; !ok {
			t.Errorf("no sample value for %s", s.Name)
		}
	}
}

// chatBody builds a request for model with the given parameters.
func chatBody(model string, params []string) string {
	var b strings.Builder
	b.WriteString(`{"model":"` + model + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name three primary colors."}]`)
	for _, p := range params {
		b.WriteString(`,"` + p + `":` + sampleValues[p])
	}
	b.WriteString("}")
	return b.String()
}

// upstreamParams returns the sampling members of a captured upstream body:
// Anthropic's top-level fields or Gemini's generationConfig, without the
// structural ones, which are checked separately.
func upstreamParams(t *testing.T, provider matrix.Provider, body []byte) (params, extra map[string]any) {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("upstream body is not JSON: %v\n%s", err, body)
	}
	params, extra = map[string]any{}, map[string]any{}
	src, structural := top, map[string]bool{"model": true, "messages": true, "system": true}
	if provider == matrix.ProviderGoogle {
		src, _ = top["generationConfig"].(map[string]any)
		structural = map[string]bool{}
		for k := range top {
			if k != "contents" && k != "systemInstruction" && k != "generationConfig" {
				t.Errorf("unexpected top-level Gemini field %q", k)
			}
		}
	}
	for k, v := range src {
		switch {
		case structural[k]:
		case k == "thinking" || k == "output_config" || k == "thinkingConfig" || k == "max_tokens" || k == "maxOutputTokens":
			extra[k] = v
		default:
			params[k] = v
		}
	}
	return params, extra
}

// wantParams is what the captured body must hold: every forwarded parameter
// under its upstream name, with its value clamped to the upstream's range.
func wantParams(m *matrix.Model, forward matrix.Mask) map[string]any {
	want := map[string]any{}
	for rest := forward; rest != 0; {
		var p matrix.Param
		p, rest = rest.Next()
		name := m.Rename[p]
		if name == "" || p == generated.ParamMaxTokens || p == generated.ParamMaxCompletionTokens {
			continue
		}
		var v any
		_ = json.Unmarshal([]byte(sampleValues[generated.ParamSpecs[p].Name]), &v)
		if f, ok := v.(float64); ok {
			v = m.Clamps[p].Apply(f)
		}
		if parent, member, nested := strings.Cut(name, "."); nested {
			want[parent] = map[string]any{member: v} // an object with its one member
			continue
		}
		want[name] = v
	}
	return want
}

// TestEveryModelEveryParameter sends every parameter of the superset alone,
// then all of them together, to every chat model, with and without
// reasoning, through the gateway to the strict emulators. Each request must
// succeed, and the upstream must receive exactly the forwarded parameters,
// renamed and clamped, with the rest reported as dropped.
func TestEveryModelEveryParameter(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	var all []string
	for _, s := range generated.ParamSpecs {
		if s.Policy != matrix.PolicyReject {
			all = append(all, s.Name)
		}
	}
	for _, m := range generated.Models {
		if m.Kind != matrix.KindChat {
			continue
		}
		for _, reasoning := range []bool{false, true} {
			cases := [][]string{all}
			for _, p := range all {
				cases = append(cases, []string{p})
			}
			for _, params := range cases {
				sent := append([]string(nil), params...)
				if reasoning && !contains(sent, "reasoning") {
					sent = append(sent, "reasoning")
				}
				checkForwarding(t, env, m, sent)
			}
		}
	}
}

func checkForwarding(t *testing.T, env *gatewaytest.Env, m *matrix.Model, sent []string) {
	t.Helper()
	name := m.ID + " with " + strings.Join(sent, ",")
	if len(sent) > 3 {
		name = m.ID + " with all " + map[bool]string{true: "and reasoning", false: ""}[contains(sent, "reasoning")]
	}
	before := upstreamCount(env, m)
	resp := env.Chat(t, chatBody(m.ID, sent))
	if resp.Status != 200 {
		t.Errorf("%s: status %d: %s", name, resp.Status, resp.Body)
		return
	}
	if upstreamCount(env, m) != before+1 {
		t.Errorf("%s: the upstream saw %d requests, want 1", name, upstreamCount(env, m)-before)
		return
	}
	var present matrix.Mask
	for i, s := range generated.ParamSpecs {
		if contains(sent, s.Name) {
			present |= matrix.MaskOf(matrix.Param(i))
		}
	}
	thinking := anyOf(sent, "reasoning", "reasoning_effort", "include_reasoning")
	forward := m.Filter(present, thinking)
	if thinking && m.Thinking.Style == matrix.ThinkingAnthropicBudget && anyOf(sent, "max_tokens", "max_completion_tokens") {
		// The client's max_tokens (100 or 120 here) is a cap too small for
		// Anthropic's smallest thinking budget: thinking is dropped, and the
		// reasoning asked for is reported so.
		thinking = false
		forward = m.Filter(present, false) &^ (matrix.MaskOf(generated.ParamReasoning) |
			matrix.MaskOf(generated.ParamReasoningEffort) | matrix.MaskOf(generated.ParamIncludeReasoning))
	}
	body := lastUpstreamBody(env, m)
	got, extra := upstreamParams(t, m.Provider, body)
	if want := wantParams(m, forward); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: upstream got %v, want %v\nbody: %s", name, got, want, body)
	}
	checkMaxTokens(t, name, m, sent, extra, thinking)
	checkThinking(t, name, m, extra, thinking)
	var dropped []string
	for rest := present &^ forward; rest != 0; {
		var p matrix.Param
		p, rest = rest.Next()
		dropped = append(dropped, generated.ParamSpecs[p].Name)
	}
	if got := resp.Header.Get("X-OpenToken-Dropped-Params"); got != strings.Join(dropped, ",") {
		t.Errorf("%s: X-OpenToken-Dropped-Params = %q, want %q", name, got, strings.Join(dropped, ","))
	}
	var completion struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(resp.Body, &completion); err != nil || completion.Object != "chat.completion" ||
		len(completion.Choices) != 1 || completion.Usage.TotalTokens == 0 ||
		// A small cap may be spent on thinking alone, as upstream: then the
		// answer is empty and cut for length.
		completion.Choices[0].Message.Content == "" && completion.Choices[0].FinishReason != "length" {
		t.Errorf("%s: malformed completion %s", name, resp.Body)
	}
}

func checkMaxTokens(t *testing.T, name string, m *matrix.Model, sent []string, extra map[string]any, thinking bool) {
	t.Helper()
	key := m.Rename[generated.ParamMaxTokens]
	got, ok := extra[key].(float64)
	switch {
	case contains(sent, "max_tokens") || contains(sent, "max_completion_tokens") || m.DefaultMaxTokens > 0:
		if !ok {
			t.Errorf("%s: upstream got no %s", name, key)
			return
		}
		want := 100.0 // max_tokens wins over its alias
		if !contains(sent, "max_tokens") {
			want = 120
			if !contains(sent, "max_completion_tokens") {
				want = float64(m.DefaultMaxTokens)
			}
		}
		if thinking && m.Thinking.Style == matrix.ThinkingAnthropicBudget {
			budget := float64(m.Thinking.Budgets[matrix.EffortHigh])
			if !contains(sent, "reasoning") {
				budget = float64(m.Thinking.Budgets[matrix.EffortMedium])
				if contains(sent, "reasoning_effort") {
					budget = float64(m.Thinking.Budgets[matrix.EffortLow])
				}
			}
			if budget >= want {
				want += budget
			}
		}
		if got != want {
			t.Errorf("%s: upstream %s = %v, want %v", name, key, got, want)
		}
	case ok:
		t.Errorf("%s: upstream got %s = %v, but the client sent none and the model has no default", name, key, got)
	}
}

func checkThinking(t *testing.T, name string, m *matrix.Model, extra map[string]any, thinking bool) {
	t.Helper()
	_, anthropicThinking := extra["thinking"]
	_, geminiThinking := extra["thinkingConfig"]
	switch m.Thinking.Style {
	case matrix.ThinkingAnthropicBudget, matrix.ThinkingAnthropicAdaptive:
		if anthropicThinking != thinking {
			t.Errorf("%s: upstream thinking present=%v, want %v", name, anthropicThinking, thinking)
		}
		if _, effort := extra["output_config"]; effort != (thinking && m.Thinking.Style == matrix.ThinkingAnthropicAdaptive) {
			t.Errorf("%s: output_config present=%v", name, effort)
		}
	case matrix.ThinkingGeminiBudget, matrix.ThinkingGeminiLevel:
		if geminiThinking != thinking {
			t.Errorf("%s: upstream thinkingConfig present=%v, want %v", name, geminiThinking, thinking)
		}
	}
}

func upstreamCount(env *gatewaytest.Env, m *matrix.Model) int {
	if m.Provider == matrix.ProviderAnthropic {
		return env.Anthropic.Requests.Count()
	}
	return env.Gemini.Requests.Count()
}

func lastUpstreamBody(env *gatewaytest.Env, m *matrix.Model) []byte {
	if m.Provider == matrix.ProviderAnthropic {
		r, _ := env.Anthropic.Requests.Last()
		return r.Body
	}
	r, _ := env.Gemini.Requests.Last()
	return r.Body
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func anyOf(s []string, vs ...string) bool {
	for _, v := range vs {
		if contains(s, v) {
			return true
		}
	}
	return false
}

// TestAnthropicWhitespace: OpenAI accepts empty or white-space-only stops
// and text, Anthropic rejects them; the gateway leaves them out, or refuses
// a user turn with nothing in it, so that the same body works everywhere.
func TestAnthropicWhitespace(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	f := func(name, body string, wantStops []any, dropped string) {
		t.Helper()
		r := env.Chat(t, body)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		last, _ := env.Anthropic.Requests.Last()
		var sent map[string]any
		_ = json.Unmarshal(last.Body, &sent)
		got, _ := sent["stop_sequences"].([]any)
		if !reflect.DeepEqual(got, wantStops) {
			t.Errorf("%s: stop_sequences %v, want %v", name, got, wantStops)
		}
		if h := r.Header.Get("X-OpenToken-Dropped-Params"); h != dropped {
			t.Errorf("%s: dropped %q, want %q", name, h, dropped)
		}
	}
	m := `"model":"anthropic/claude-sonnet-4-6",`
	f("newline stop", `{`+m+`"stop":["\n"],"messages":[{"role":"user","content":"hi"}]}`, nil, "stop")
	f("mixed stops", `{`+m+`"stop":["\n","END",""],"messages":[{"role":"user","content":"hi"}]}`, []any{"END"}, "")
	f("blank turns", `{`+m+`"messages":[{"role":"system","content":"  "},{"role":"user","content":[{"type":"text","text":" "},{"type":"text","text":"hi"}]},{"role":"assistant","content":"\n"},{"role":"user","content":"again"}]}`, nil, "")
	expectError(t, "blank user turn", env.Chat(t, `{`+m+`"messages":[{"role":"user","content":" \n "}]}`), 400, "invalid_request_error", nil, "messages[0].content")

	// Gemini takes a newline stop as it is.
	if r := env.Chat(t, `{"model":"google/gemini-3-flash","stop":["\n"],"messages":[{"role":"user","content":"hi"}]}`); r.Status != 200 {
		t.Fatalf("gemini: %d %s", r.Status, r.Body)
	}
	last, _ := env.Gemini.Requests.Last()
	if !strings.Contains(string(last.Body), `"stopSequences":["\n"]`) {
		t.Errorf("gemini stop not forwarded: %s", last.Body)
	}
}
