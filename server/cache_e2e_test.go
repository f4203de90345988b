package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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

// TestGeminiExplicitCache: a Gemini prompt marked for caching becomes a
// cachedContents entry, created once for concurrent identical requests,
// used by later ones (which send only what follows it), recreated when it
// lapsed upstream, skipped when too small, and deleted on shutdown.
func TestGeminiExplicitCache(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Gemini.Requests.Enable()
	system := `{"role":"system","content":[{"type":"text","text":"` + strings.Repeat("house rules ", 1000) + `","cache_control":{"type":"ephemeral"}}]}`
	body := func(question string, stream bool) string {
		s := `{"model":"google/gemini-3-flash","messages":[` + system + `,{"role":"user","content":"` + question + `"}]`
		if stream {
			s += `,"stream":true`
		}
		return s + `}`
	}
	type usage struct {
		Usage struct {
			PromptTokens int64 `json:"prompt_tokens"`
			Details      struct {
				Cached int64 `json:"cached_tokens"`
				Write  int64 `json:"cache_write_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	// 50 at once: one entry created, every answer on it.
	const n = 50
	results := make(chan usage, n)
	for range n {
		go func() {
			resp, err := env.PostStream(strings.Replace(body("hi", false), `"stream":true`, "", 1))
			var u usage
			if err == nil {
				r := gatewaytest.ReadResponse(t, resp)
				_ = json.Unmarshal(r.Body, &u)
			}
			results <- u
		}()
	}
	// The same question without the breakpoint: what its prompt counts.
	var plain usage
	_ = json.Unmarshal(env.Chat(t, strings.Replace(body("hi", false), `,"cache_control":{"type":"ephemeral"}`, "", 1)).Body, &plain)
	prompt := plain.Usage.PromptTokens
	writes := 0
	for range n {
		u := <-results
		// Each prompt token once: the request that created the entry
		// counts the prefix as written, the others as read, and every
		// one the whole prompt, as the uncached request does.
		d := u.Usage.Details
		switch {
		case u.Usage.PromptTokens != prompt:
			t.Errorf("prompt_tokens %d, want %d as uncached: %+v", u.Usage.PromptTokens, prompt, u.Usage)
		case d.Write > 0 && d.Cached != 0, d.Write == 0 && d.Cached == 0, d.Cached+d.Write >= prompt:
			t.Errorf("an answer neither written nor read once: %+v", u.Usage)
		}
		if d.Write > 0 {
			writes++
		}
	}
	if env.Gemini.Creates() != 1 || writes != 1 {
		t.Errorf("%d concurrent requests: %d entries created, %d answers report the write; want 1 and 1", n, env.Gemini.Creates(), writes)
	}
	// A later request sends only what follows the prefix.
	r := env.Chat(t, body("and now?", false))
	last, _ := env.Gemini.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(last.Body), `"cachedContent":"cachedContents/emu1"`) || strings.Contains(string(last.Body), "house rules") {
		t.Errorf("a later request: %d, sent %.300s", r.Status, last.Body)
	}
	// Streamed too: on the entry, and creating one (another prefix), each
	// token once.
	streamed := func(b string) usage {
		frames := gatewaytest.ReadFrames(t, env.Stream(t, b).Body)
		var u usage
		_ = json.Unmarshal([]byte(frames[len(frames)-2].Raw), &u)
		return u
	}
	if u := streamed(body("hi", true)).Usage; u.PromptTokens != prompt || u.Details.Cached == 0 || u.Details.Write != 0 {
		t.Errorf("a stream on the cache: %+v, want %d prompt tokens, read", u, prompt)
	}
	other := strings.Replace(body("hi", true), "house rules", "mouse rules", -1)
	if u := streamed(other).Usage; u.PromptTokens != prompt || u.Details.Cached != 0 || u.Details.Write == 0 {
		t.Errorf("a stream creating an entry: %+v, want %d prompt tokens, written", u, prompt)
	}
	if env.Gemini.Creates() != 2 {
		t.Errorf("%d entries created, want 2", env.Gemini.Creates())
	}
	// Expired upstream (the entry's hour passed): the request goes through
	// uncached... and the next one makes a new entry.
	env.Gemini.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if r := env.Chat(t, body("after an hour", false)); r.Status != 200 {
		t.Errorf("after expiry: %d %s", r.Status, r.Body)
	}
	var again usage
	r = env.Chat(t, body("hi", false))
	_ = json.Unmarshal(r.Body, &again)
	if u := again.Usage; r.Status != 200 || env.Gemini.Creates() != 3 || u.PromptTokens != prompt || u.Details.Write == 0 || u.Details.Cached != 0 {
		t.Errorf("after expiry, a new entry: %d, %d created, usage %+v", r.Status, env.Gemini.Creates(), u)
	}
	env.Gemini.SetClock(nil)
	// Too small to cache: no entry, no error.
	small := `{"model":"google/gemini-3-flash","messages":[{"role":"system","content":[{"type":"text","text":"short","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"hi"}]}`
	if r := env.Chat(t, small); r.Status != 200 || env.Gemini.Creates() != 3 {
		t.Errorf("a small prefix: %d, %d created", r.Status, env.Gemini.Creates())
	}
	// Shutdown deletes what it made.
	if env.Gemini.Live() == 0 {
		t.Fatal("no live entry before shutdown")
	}
	_ = env.Server.Shutdown()
	if live := env.Gemini.Live(); live != 0 {
		t.Errorf("%d entries left after shutdown", live)
	}
}
