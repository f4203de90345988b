package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/store"
)

const responsesWeather = `{"type":"function","name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}`

// postResponses posts a Responses body with the client key.
func postResponses(t *testing.T, env *gatewaytest.Env, path, body string) *gatewaytest.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, path, gatewaytest.ClientKey, []byte(body))
}

// responseEvents parses a Responses event stream, checking that each
// event's name is its data's type and that sequence numbers count up
// from 0.
func responseEvents(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var ev map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
			if ev["type"] != name {
				t.Errorf("event %s has type %v", name, ev["type"])
			}
			if seq, _ := ev["sequence_number"].(float64); int(seq) != len(out) {
				t.Errorf("event %d (%s) has sequence_number %v", len(out), name, ev["sequence_number"])
			}
			out = append(out, ev)
		}
	}
	return out
}

// response is the part of a response object the tests read.
type response struct {
	ID     string
	Status string
	Output []map[string]any
	Usage  struct {
		InputTokens        int `json:"input_tokens"`
		OutputTokens       int `json:"output_tokens"`
		InputTokensDetails *struct {
			CachedTokens *int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokensDetails *struct {
			ReasoningTokens *int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	}
}

// TestResponsesCodexRequest: the request Codex 0.169 sends (captured,
// testdata/codex-responses-request.json) is served on a Claude and a Gemini model: its
// developer messages become the system prompt, its namespace tools are
// flattened for the upstream, its hosted web_search is dropped and said,
// and the stream ends with a usage whose details are all present.
func TestResponsesCodexRequest(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "codex-responses-request.json")) // captured from Codex 0.169
	if err != nil {
		t.Fatal(err)
	}
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"} {
		body := bytes.Replace(fixture, []byte(`"anthropic/claude-sonnet-4-6"`), []byte(`"`+model+`"`), 1)
		r := postResponses(t, env, "/v1/responses", string(body))
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", model, r.Status, r.Body)
		}
		events := responseEvents(t, r.Body)
		last := events[len(events)-1]
		if events[0]["type"] != "response.created" || events[1]["type"] != "response.in_progress" || last["type"] != "response.completed" {
			t.Fatalf("%s: the stream's events: %s", model, r.Body)
		}
		var done response
		raw, _ := json.Marshal(last["response"])
		_ = json.Unmarshal(raw, &done)
		if done.Status != "completed" || done.Usage.InputTokensDetails == nil || done.Usage.InputTokensDetails.CachedTokens == nil ||
			done.Usage.OutputTokensDetails == nil || done.Usage.OutputTokensDetails.ReasoningTokens == nil {
			t.Errorf("%s: the completed response: %s", model, raw)
		}
		if dropped := r.Header.Get("X-OpenToken-Dropped-Params"); !strings.Contains(dropped, "tools[8].web_search") || !strings.Contains(dropped, "client_metadata") {
			t.Errorf("%s: dropped %q", model, dropped)
		}
		var sent string
		if strings.HasPrefix(model, "anthropic") {
			last, _ := env.Anthropic.Requests.Last()
			sent = string(last.Body)
		} else {
			last, _ := env.Gemini.Requests.Last()
			sent = string(last.Body)
		}
		if !strings.Contains(sent, `"multi_agent_v1__close_agent"`) || strings.Contains(sent, "web_search") {
			t.Errorf("%s: the upstream body's tools: %.600s", model, sent)
		}
	}
}

// TestResponsesToolLoops: a tool loop with reasoning on, as Codex runs it
// with store: false: the first answer's reasoning item carries sealed
// encrypted_content; sent back with the call and its output, it restores
// Claude's signed thinking and Gemini 3's thought signature upstream. An
// altered or forged item is a 400.
func TestResponsesToolLoops(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, c := range []struct{ model, want string }{
		{"anthropic/claude-haiku-4-5", `{"type":"thinking","thinking":"Emulated reasoning`},
		{"google/gemini-3-flash", `"thoughtSignature":"`},
	} {
		first := `{"model":"` + c.model + `","store":false,"include":["reasoning.encrypted_content"],"reasoning":{"effort":"medium","summary":"auto"},` +
			`"max_output_tokens":8000,"tools":[` + responsesWeather + `],"input":[{"role":"user","content":"get_weather for Lima?"}]}`
		r := postResponses(t, env, "/v1/responses", first)
		var resp response
		if err := json.Unmarshal(r.Body, &resp); r.Status != 200 || err != nil {
			t.Fatalf("%s: %d %s", c.model, r.Status, r.Body)
		}
		var items []any
		var call map[string]any
		sealed := ""
		for _, it := range resp.Output {
			switch it["type"] {
			case "reasoning":
				sealed, _ = it["encrypted_content"].(string)
				items = append(items, it)
			case "function_call":
				call = it
				items = append(items, it)
			}
		}
		if call == nil || !strings.HasPrefix(sealed, "otk1.") {
			t.Fatalf("%s: no call or no sealed reasoning: %s", c.model, r.Body)
		}
		items = append(items, map[string]any{"type": "function_call_output", "call_id": call["call_id"], "output": "19C"})
		history, _ := json.Marshal(items)
		second := strings.Replace(first, `"input":[{"role":"user","content":"get_weather for Lima?"}]`,
			`"input":[{"role":"user","content":"get_weather for Lima?"},`+string(history[1:]), 1)
		r = postResponses(t, env, "/v1/responses", second)
		var sent string
		if strings.HasPrefix(c.model, "anthropic") {
			last, _ := env.Anthropic.Requests.Last()
			sent = string(last.Body)
		} else {
			last, _ := env.Gemini.Requests.Last()
			sent = string(last.Body)
		}
		if r.Status != 200 || !strings.Contains(string(r.Body), "19C") || !strings.Contains(sent, c.want) {
			t.Errorf("%s: the loop's second turn: %d %s, sent %.1500s", c.model, r.Status, r.Body, sent)
		}
		// The sealed content altered, or made up, is refused.
		for name, bad := range map[string]string{
			"altered":  sealed[:len(sealed)-4] + "AAAA",
			"forged":   "otk1.bm90IHNlYWxlZCBieSB0aGUgZ2F0ZXdheQ",
			"unsealed": "W3sidHlwZSI6InJlYXNvbmluZy50ZXh0In1d",
		} {
			r = postResponses(t, env, "/v1/responses", strings.Replace(second, sealed, bad, 1))
			if r.Status != 400 || !strings.Contains(string(r.Body), "encrypted_content") {
				t.Errorf("%s: %s encrypted_content: %d %s", c.model, name, r.Status, r.Body)
			}
		}
	}
}

// TestResponsesStored: store: true keeps a response in the database, in
// the scope of the key that made it: GET returns it, previous_response_id
// continues from it, DELETE removes it; another key's workspace never
// sees it; store: false keeps nothing. input_tokens counts.
func TestResponsesStored(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	env := gatewaytest.Start(t, gatewaytest.Options{Responses: db})
	r := postResponses(t, env, "/v1/responses", `{"model":"google/gemini-3-flash","input":"Remember the word: tangerine.","metadata":{"run":"1"}}`)
	var first response
	if _ = json.Unmarshal(r.Body, &first); r.Status != 200 || first.ID == "" || strings.Contains(r.Header.Get("X-OpenToken-Dropped-Params"), "store") {
		t.Fatalf("a stored response: %d %s, dropped %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	got := env.Do(t, http.MethodGet, "/v1/responses/"+first.ID, gatewaytest.ClientKey, nil)
	if got.Status != 200 || !bytes.Equal(got.Body, r.Body) {
		t.Errorf("GET the stored response: %d %s", got.Status, got.Body)
	}
	r = postResponses(t, env, "/v1/responses", `{"model":"google/gemini-3-flash","previous_response_id":"`+first.ID+`","input":"Which word?"}`)
	last, _ := env.Gemini.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(last.Body), "tangerine") || !strings.Contains(string(last.Body), "Emulated gemini-3-flash-preview reply to: Remember") ||
		!strings.Contains(string(r.Body), `"previous_response_id":"`+first.ID+`"`) {
		t.Errorf("previous_response_id: %d %s, sent %s", r.Status, r.Body, last.Body)
	}
	if r := postResponses(t, env, "/v1/responses", `{"model":"google/gemini-3-flash","previous_response_id":"resp_nonesuch","input":"x"}`); r.Status != 404 {
		t.Errorf("an unknown previous_response_id: %d %s", r.Status, r.Body)
	}
	unstored := postResponses(t, env, "/v1/responses", `{"model":"google/gemini-3-flash","input":"x","store":false}`)
	var u response
	_ = json.Unmarshal(unstored.Body, &u)
	if got := env.Do(t, http.MethodGet, "/v1/responses/"+u.ID, gatewaytest.ClientKey, nil); got.Status != 404 {
		t.Errorf("store: false was kept: %d %s", got.Status, got.Body)
	}
	if del := env.Do(t, http.MethodDelete, "/v1/responses/"+first.ID, gatewaytest.ClientKey, nil); del.Status != 200 || !strings.Contains(string(del.Body), `"deleted":true`) {
		t.Errorf("DELETE: %d %s", del.Status, del.Body)
	}
	if got := env.Do(t, http.MethodGet, "/v1/responses/"+first.ID, gatewaytest.ClientKey, nil); got.Status != 404 {
		t.Errorf("GET after DELETE: %d %s", got.Status, got.Body)
	}
	// A stream is stored when it completes: GET gives its last event's response.
	streamed := postResponses(t, env, "/v1/responses", `{"model":"anthropic/claude-sonnet-4-6","input":"stream me","stream":true}`)
	events := responseEvents(t, streamed.Body)
	final, _ := json.Marshal(events[len(events)-1]["response"])
	var fin response
	_ = json.Unmarshal(final, &fin)
	got = env.Do(t, http.MethodGet, "/v1/responses/"+fin.ID, gatewaytest.ClientKey, nil)
	var a, b any
	_ = json.Unmarshal(got.Body, &a)
	_ = json.Unmarshal(final, &b)
	if got.Status != 200 || fin.Status != "completed" || !reflect.DeepEqual(a, b) {
		t.Errorf("a stored stream: %d %s, want %s", got.Status, got.Body, final)
	}
	n := postResponses(t, env, "/v1/responses/input_tokens", `{"model":"anthropic/claude-sonnet-4-6","instructions":"Be brief.","input":"count these words please"}`)
	if n.Status != 200 || !strings.Contains(string(n.Body), `"object":"response.input_tokens","input_tokens":`) {
		t.Errorf("input_tokens: %d %s", n.Status, n.Body)
	}
}

// TestResponsesErrors: refusals in the OpenAI envelope, with the field.
func TestResponsesErrors(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, c := range []struct {
		name, body string
		status     int
		param      string
	}{
		{"an unknown parameter", `{"model":"google/gemini-3-flash","input":"x","colour":1}`, 400, "colour"},
		{"no model", `{"input":"x"}`, 400, "model"},
		{"an unknown model", `{"model":"google/gemini-9","input":"x"}`, 400, "model"},
		{"no input", `{"model":"google/gemini-3-flash"}`, 400, "input"},
		{"a bad role", `{"model":"google/gemini-3-flash","input":[{"role":"robot","content":"x"}]}`, 400, "input[0].role"},
		{"a bad part", `{"model":"google/gemini-3-flash","input":[{"role":"user","content":[{"type":"input_video","video_url":"v"}]}]}`, 400, "input[0].content[0].type"},
		{"a file id", `{"model":"google/gemini-3-flash","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, 400, "input[0].content[0].file_id"},
		{"an embedding model", `{"model":"google/gemini-embedding-001","input":"x"}`, 400, "model"},
		{"bad call arguments", `{"model":"google/gemini-3-flash","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{oops"}]}`, 400, "input[0].arguments"},
		{"a bad effort", `{"model":"google/gemini-3-flash","input":"x","reasoning":{"effort":"huge"}}`, 400, "reasoning.effort"},
		{"a temperature out of range", `{"model":"google/gemini-3-flash","input":"x","temperature":9}`, 400, "temperature"},
		{"previous_response_id without storage", `{"model":"google/gemini-3-flash","input":"x","previous_response_id":"resp_1"}`, 400, "previous_response_id"},
	} {
		r := postResponses(t, env, "/v1/responses", c.body)
		var e struct {
			Error struct{ Type, Param, Message string }
		}
		if _ = json.Unmarshal(r.Body, &e); r.Status != c.status || e.Error.Param != c.param || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d param %s", c.name, r.Status, r.Body, c.status, c.param)
		}
	}
}

// TestResponsesStreamFailure: an upstream that fails after the stream
// committed ends it with response.failed, its response carrying the error
// and what was produced before; the numbers keep counting.
func TestResponsesStreamFailure(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Anthropic.Faults.Push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 4, Error: true}})
	r := postResponses(t, env, "/v1/responses", `{"model":"anthropic/claude-sonnet-4-6","store":false,"stream":true,"input":"tell me a long story"}`)
	events := responseEvents(t, r.Body)
	last := events[len(events)-1]
	resp, _ := last["response"].(map[string]any)
	errObj, _ := resp["error"].(map[string]any)
	if r.Status != 200 || last["type"] != "response.failed" || resp["status"] != "failed" || errObj == nil || errObj["message"] == "" {
		t.Errorf("a failed stream: %d %s", r.Status, r.Body)
	}
}
