package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestAnthropicBreakpointsBestEffort: breakpoints Anthropic would refuse
// are fitted rather than sent to fail, and the client is told; a malformed
// one is a 400 on every model.
func TestAnthropicBreakpointsBestEffort(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	part := func(text, ttl string) string {
		cc := `{"type":"ephemeral"}`
		if ttl != "" {
			cc = `{"type":"ephemeral","ttl":"` + ttl + `"}`
		}
		return `{"type":"text","text":"` + text + `","cache_control":` + cc + `}`
	}
	// Five breakpoints: the first (the shortest prefix) goes.
	system := []string{part("a", ""), part("b", ""), part("c", ""), part("d", ""), part("e", "")}
	r := env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"system","content":[`+strings.Join(system, ",")+`]},{"role":"user","content":"hi"}]}`)
	last, _ := env.Anthropic.Requests.Last()
	if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "cache_control" || strings.Count(string(last.Body), "cache_control") != 4 ||
		strings.Contains(string(last.Body), `{"type":"text","text":"a","cache_control"`) {
		t.Errorf("five breakpoints: %d, dropped %q, sent %s", r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), last.Body)
	}
	// A 1-hour breakpoint after a 5-minute one becomes 5-minute.
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"system","content":[`+part("a", "5m")+`]},{"role":"user","content":[`+part("b", "1h")+`]}]}`)
	last, _ = env.Anthropic.Requests.Last()
	if r.Status != 200 || r.Header.Get("X-OpenToken-Adjusted-Params") != "cache_control.ttl=1h->5m" || strings.Contains(string(last.Body), `"1h"`) {
		t.Errorf("1h after 5m: %d, adjusted %q, sent %s", r.Status, r.Header.Get("X-OpenToken-Adjusted-Params"), last.Body)
	}
	// A TTL no upstream takes is the client's mistake, on every model.
	for _, model := range []string{"anthropic/claude-haiku-4-5", "google/gemini-3-flash"} {
		r = env.Chat(t, `{"model":"`+model+`","messages":[{"role":"user","content":[`+part("a", "2h")+`]}]}`)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"param":"messages[0].content[0].cache_control.ttl"`) {
			t.Errorf("%s, ttl 2h: %d %s", model, r.Status, r.Body)
		}
	}
	// On a tool and a tool result too.
	tools := `[{"type":"function","function":{"name":"get_weather"},"cache_control":{"type":"ephemeral"}}]`
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5","tools":`+tools+`,"messages":[{"role":"user","content":"get_weather"},`+
		`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},`+
		`{"role":"tool","tool_call_id":"call_1","content":[`+part("18C", "")+`]}]}`)
	last, _ = env.Anthropic.Requests.Last()
	var sent struct {
		Tools    []map[string]any `json:"tools"`
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(last.Body, &sent)
	if r.Status != 200 || sent.Tools[0]["cache_control"] == nil || !strings.Contains(string(sent.Messages[2].Content), `"tool_result","tool_use_id":"call_1","content":"18C","cache_control"`) {
		t.Errorf("breakpoints on a tool and a result: %d %s", r.Status, last.Body)
	}
}

// TestCachedPromptCountsTwice: a system prompt marked for caching, sent
// twice, is written then read, and the answers say so in OpenAI's terms.
func TestCachedPromptCountsTwice(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	body := `{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"system","content":[{"type":"text","text":"` + strings.Repeat("policy ", 3000) +
		`","cache_control":{"type":"ephemeral","ttl":"1h"}}]},{"role":"user","content":"hi"}]}`
	type usage struct {
		Usage struct {
			PromptTokens int64   `json:"prompt_tokens"`
			Cost         float64 `json:"cost"`
			Details      struct {
				Cached   int64 `json:"cached_tokens"`
				Write    int64 `json:"cache_write_tokens"`
				Creation int64 `json:"cache_creation_tokens"`
				Write1h  int64 `json:"cache_write_1h_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	var first, second usage
	_ = json.Unmarshal(env.Chat(t, body).Body, &first)
	_ = json.Unmarshal(env.Chat(t, body).Body, &second)
	f, s := first.Usage, second.Usage
	if f.Details.Write == 0 || f.Details.Write != f.Details.Creation || f.Details.Write1h != f.Details.Write || f.Details.Cached != 0 ||
		s.Details.Cached != f.Details.Write || s.Details.Write != 0 || s.PromptTokens != f.PromptTokens || s.Cost >= f.Cost {
		t.Errorf("first %+v, second %+v", f, s)
	}
}
