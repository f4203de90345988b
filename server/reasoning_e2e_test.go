package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
)

// TestReasoningCapsAndNone: a client's max_tokens is a cap that thinking
// fits inside (or is dropped, and says so); reasoning_effort none shows no
// reasoning; Gemini counts thinking inside maxOutputTokens.
func TestReasoningCapsAndNone(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})

	r := env.Chat(t, `{"model":"anthropic/claude-haiku-4-5",`+okMessages+`,"max_tokens":300,"reasoning_effort":"high","temperature":0.4}`)
	last, _ := env.Anthropic.Requests.Last()
	var sent map[string]any
	_ = json.Unmarshal(last.Body, &sent)
	if r.Status != 200 || sent["max_tokens"] != 300.0 || sent["thinking"] != nil || sent["temperature"] != 0.4 ||
		r.Header.Get("X-OpenToken-Dropped-Params") != "reasoning_effort" {
		t.Errorf("haiku, max_tokens 300, effort high: status %d, sent %s, dropped %q", r.Status, last.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}

	for _, none := range []string{`"reasoning_effort":"none"`, `"reasoning":{"enabled":false}`} {
		r := env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`,`+none+`}`)
		last, _ := env.Gemini.Requests.Last()
		if r.Status != 200 || strings.Contains(string(last.Body), "includeThoughts") || strings.Contains(string(r.Body), `"reasoning":`) {
			t.Errorf("gemini-3-flash %s: status %d, sent %s, answered %s", none, r.Status, last.Body, r.Body)
		}
	}

	r = env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`,"max_completion_tokens":8,"reasoning_effort":"high"}`)
	var c struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil || r.Status != 200 || c.Usage.CompletionTokens > 8 {
		t.Errorf("max_completion_tokens 8 with thinking: %d %s", r.Status, r.Body)
	}
}

// TestGeminiEmptyAssistantTurn: an assistant turn with an empty content
// array is left out, as on the Anthropic path.
func TestGeminiEmptyAssistantTurn(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	r := env.Chat(t, `{"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":"a"},{"role":"assistant","content":[]},{"role":"user","content":"b"}]}`)
	last, _ := env.Gemini.Requests.Last()
	if r.Status != 200 || strings.Contains(string(last.Body), `"parts":[]`) {
		t.Errorf("status %d, sent %s", r.Status, last.Body)
	}
}

// TestNoOpToolFieldsOnEveryModel: what frameworks send by default and asks
// for nothing is accepted on every chat model, and reported as nothing.
func TestNoOpToolFieldsOnEveryModel(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, m := range generated.Models {
		if m.Kind != matrix.KindChat {
			continue
		}
		r := env.Chat(t, `{"model":"`+m.ID+`",`+okMessages+`,"tools":[],"tool_choice":"none","response_format":{"type":"text"}}`)
		if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "" {
			t.Errorf("%s: %d %q %s", m.ID, r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), r.Body)
		}
	}
}
