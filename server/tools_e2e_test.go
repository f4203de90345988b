package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

const weatherTool = `{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}`

// TestToolRulesFromTheMatrix: the tool-loop facts of spec/ decide what a
// request becomes, and the client is told.
func TestToolRulesFromTheMatrix(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})

	// A forced choice with Claude's manual thinking: the choice wins.
	r := env.Chat(t, `{"model":"anthropic/claude-haiku-4-5","messages":[{"role":"user","content":"hi"}],"tools":[`+weatherTool+`],"tool_choice":"required","reasoning_effort":"low","max_tokens":4000}`)
	last, _ := env.Anthropic.Requests.Last()
	var sent map[string]any
	_ = json.Unmarshal(last.Body, &sent)
	if r.Status != 200 || sent["thinking"] != nil || r.Header.Get("X-OpenToken-Dropped-Params") != "reasoning_effort" || !strings.Contains(string(r.Body), `"finish_reason":"tool_calls"`) {
		t.Errorf("forced choice with budget thinking: %d %s, sent %s, dropped %q", r.Status, r.Body, last.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	// Adaptive thinking takes a forced choice: thinking stays on.
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}],"tools":[`+weatherTool+`],"tool_choice":"required","reasoning_effort":"low"}`)
	last, _ = env.Anthropic.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(last.Body), `"thinking":{"type":"adaptive"}`) || r.Header.Get("X-OpenToken-Dropped-Params") != "" {
		t.Errorf("forced choice with adaptive thinking: %d %s, sent %s", r.Status, r.Body, last.Body)
	}
	// Gemini has no strict tools: the flag is not sent, and that is said.
	r = env.Chat(t, `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"get_weather?"}],"tools":[`+weatherTool+`]}`)
	last, _ = env.Gemini.Requests.Last()
	if r.Status != 200 || strings.Contains(string(last.Body), "strict") || r.Header.Get("X-OpenToken-Adjusted-Params") != "tools.get_weather.strict=true->false" {
		t.Errorf("strict on Gemini: %d, adjusted %q, sent %s", r.Status, r.Header.Get("X-OpenToken-Adjusted-Params"), last.Body)
	}
	// ... and strict mode refuses it rather than send it changed.
	before := env.Gemini.Requests.Count()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"x"}],"tools":[`+weatherTool+`]}`))
	req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
	req.Header.Set("X-OpenToken-Strict", "true")
	httpResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp := gatewaytest.ReadResponse(t, httpResp); resp.Status != 400 || !strings.Contains(string(resp.Body), "tools.get_weather.strict") || env.Gemini.Requests.Count() != before {
		t.Errorf("strict mode with a strict tool on Gemini: %d %s", resp.Status, resp.Body)
	}
	// parallel_tool_calls false: Anthropic's switch; dropped and reported on Gemini.
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"user","content":"get_weather"}],"tools":[`+weatherTool+`],"parallel_tool_calls":false}`)
	last, _ = env.Anthropic.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(last.Body), `"disable_parallel_tool_use":true`) {
		t.Errorf("parallel_tool_calls false on Claude: %d, sent %s", r.Status, last.Body)
	}
	r = env.Chat(t, `{"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":"get_weather"}],"tools":[`+weatherTool+`],"parallel_tool_calls":false}`)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "parallel_tool_calls" {
		t.Errorf("parallel_tool_calls false on Gemini: %d, dropped %q", r.Status, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	// /v1/models lists the capabilities by OpenRouter's names.
	m := env.Do(t, "GET", "/v1/models/google%2Fgemini-3-flash", gatewaytest.ClientKey, nil)
	for _, want := range []string{`"tools"`, `"tool_choice"`, `"response_format"`, `"structured_outputs"`} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("supported_parameters lacks %s: %s", want, m.Body)
		}
	}
	if strings.Contains(string(m.Body), `"parallel_tool_calls"`) {
		t.Errorf("Gemini cannot honour parallel_tool_calls: %s", m.Body)
	}
}

// TestStreamedToolLoopKeepsThinking: a streamed Claude answer with
// thinking and a call returns its signed thinking whole in
// delta.reasoning_details; sent back, it keeps thinking on for the next
// turn (the emulator checks the signature), on Claude and Gemini 3.
func TestStreamedToolLoopKeepsThinking(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, model := range []string{"anthropic/claude-sonnet-4-5", "google/gemini-3.1-pro"} {
		first := `{"model":"` + model + `","stream":true,"reasoning_effort":"low","max_tokens":4000,"messages":[{"role":"user","content":"get_weather for Oslo"}],"tools":[` + weatherTool + `]}`
		frames := gatewaytest.ReadFrames(t, env.Stream(t, first).Body)
		var details []json.RawMessage
		type call struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		}
		var calls []call
		for _, f := range frames {
			if f.Done || len(f.Chunk.Choices) == 0 {
				continue
			}
			d := f.Chunk.Choices[0].Delta
			if raw, ok := d["reasoning_details"]; ok {
				var list []json.RawMessage
				_ = json.Unmarshal(raw, &list)
				details = append(details, list...)
			}
			if raw, ok := d["tool_calls"]; ok {
				var list []struct {
					Index int `json:"index"`
					call
				}
				_ = json.Unmarshal(raw, &list)
				for _, c := range list {
					if c.ID != "" {
						calls = append(calls, c.call)
					} else {
						calls[c.Index].Function.Arguments += c.Function.Arguments
					}
				}
			}
		}
		if len(details) == 0 || len(calls) != 1 {
			t.Fatalf("%s: %d details, %d calls", model, len(details), len(calls))
		}
		callsJSON, _ := json.Marshal(calls)
		detailsJSON, _ := json.Marshal(details)
		second := `{"model":"` + model + `","reasoning_effort":"low","max_tokens":4000,"messages":[{"role":"user","content":"get_weather for Oslo"},` +
			`{"role":"assistant","content":null,"tool_calls":` + string(callsJSON) + `,"reasoning_details":` + string(detailsJSON) + `},` +
			`{"role":"tool","tool_call_id":"` + calls[0].ID + `","content":"-3C"}],"tools":[` + weatherTool + `]}`
		r := env.Chat(t, second)
		if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "" || !strings.Contains(string(r.Body), "-3C") {
			t.Errorf("%s: second turn %d, dropped %q: %s", model, r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), r.Body)
		}
	}
}

// TestToolHistoryWithoutTools: a history with calls and results but no
// tools declared (a client that stopped offering tools) still works: Claude
// gets the called tools declared with tool_choice none, and, without the
// signed thinking, thinking off for the request.
func TestToolHistoryWithoutTools(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	history := `"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"-3C"}]`
	for _, model := range []string{"anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-7", "google/gemini-3-flash", "google/gemini-2.5-pro"} {
		r := env.Chat(t, `{"model":"`+model+`",`+history+`,"reasoning_effort":"low","max_tokens":4000}`)
		if r.Status != 200 || !strings.Contains(string(r.Body), "-3C") {
			t.Errorf("%s: %d %s", model, r.Status, r.Body)
			continue
		}
		if !strings.HasPrefix(model, "anthropic/") {
			continue
		}
		last, _ := env.Anthropic.Requests.Last()
		if !strings.Contains(string(last.Body), `"tool_choice":{"type":"none"}`) || strings.Contains(string(last.Body), `"thinking"`) ||
			r.Header.Get("X-OpenToken-Dropped-Params") != "reasoning_effort" {
			t.Errorf("%s: dropped %q, sent %s", model, r.Header.Get("X-OpenToken-Dropped-Params"), last.Body)
		}
	}
}
