package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

const messagesWeatherTool = `{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}`

// messageEvent is one event of a Messages stream.
type messageEvent struct {
	Name string
	Data map[string]any
}

// messageEvents parses a Messages event stream, checking that every event
// names its type twice alike (the event line and data.type), as
// Anthropic's does.
func messageEvents(t *testing.T, body []byte) []messageEvent {
	t.Helper()
	var out []messageEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	var ev messageEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
		case line == "":
			if ev.Name != "" {
				if ev.Data["type"] != ev.Name {
					t.Errorf("event %s has data.type %v", ev.Name, ev.Data["type"])
				}
				out = append(out, ev)
			}
			ev = messageEvent{}
		}
	}
	return out
}

// TestMessagesDoorRequests: a Messages request reaches each upstream as
// the same matrix makes a chat request: system blocks all, in order, with
// their breakpoints; parameters dropped by the model's rules and said;
// anthropic-beta values only where the supplier takes them.
func TestMessagesDoorRequests(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	body := `{"model":"claude-sonnet-4-6","max_tokens":200,"system":[{"type":"text","text":"You are terse."},{"type":"text","text":"Answer in English.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}],"temperature":0.3,"metadata":{"user_id":"u-1"}}`
	r := env.Messages(t, "/v1/messages", body, "anthropic-beta", "claude-code-20250219,oauth-2025-04-20")
	last, _ := env.Anthropic.Requests.Last()
	var msg struct {
		Type, Role, Model string
		StopReason        string `json:"stop_reason"`
		Content           []map[string]any
		Usage             map[string]any
	}
	_ = json.Unmarshal(r.Body, &msg)
	switch {
	case r.Status != 200:
		t.Fatalf("a Claude message: %d %s", r.Status, r.Body)
	case !strings.Contains(string(last.Body), `"system":[{"type":"text","text":"You are terse."},{"type":"text","text":"Answer in English.","cache_control":{"type":"ephemeral"}}]`):
		t.Errorf("system blocks sent to Anthropic: %s", last.Body)
	case last.Header["anthropic-beta"] != "claude-code-20250219":
		t.Errorf("anthropic-beta sent: %q", last.Header["anthropic-beta"])
	case !strings.Contains(string(last.Body), `"metadata":{"user_id":"u-1"}`):
		t.Errorf("metadata.user_id sent to Anthropic: %s", last.Body)
	case r.Header.Get("X-OpenToken-Dropped-Params") != "anthropic-beta=oauth-2025-04-20":
		t.Errorf("dropped: %q", r.Header.Get("X-OpenToken-Dropped-Params"))
	case len(msg.Content) != 1 || msg.Content[0]["type"] != "text" || msg.Model != "claude-sonnet-4-6" || msg.Usage["input_tokens"] == nil || msg.Usage["output_tokens"] == nil:
		t.Errorf("the message: %s", r.Body)
	}

	// The same body to Gemini: both system blocks, in order; no beta.
	r = env.Messages(t, "/v1/messages", strings.Replace(body, "claude-sonnet-4-6", "google/gemini-3-flash", 1), "anthropic-beta", "claude-code-20250219")
	glast, _ := env.Gemini.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(glast.Body), `"systemInstruction":{"parts":[{"text":"You are terse."},{"text":"Answer in English."}]}`) ||
		glast.Header["anthropic-beta"] != "" || !strings.Contains(r.Header.Get("X-OpenToken-Dropped-Params"), "anthropic-beta=claude-code-20250219") {
		t.Errorf("a Gemini message: %d %s, sent %s, dropped %q", r.Status, r.Body, glast.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}

	// The matrix's rules, as on the chat door: Opus 4.7 takes no
	// temperature; top_k goes with thinking.
	r = env.Messages(t, "/v1/messages", `{"model":"anthropic/claude-opus-4-7","max_tokens":100,"messages":[{"role":"user","content":"hi"}],"temperature":0.5}`)
	last, _ = env.Anthropic.Requests.Last()
	if r.Status != 200 || strings.Contains(string(last.Body), "temperature") || r.Header.Get("X-OpenToken-Dropped-Params") != "temperature" {
		t.Errorf("temperature on Opus 4.7: %d, dropped %q, sent %s", r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), last.Body)
	}
	r = env.Messages(t, "/v1/messages", `{"model":"claude-sonnet-4-6","max_tokens":4000,"messages":[{"role":"user","content":"hi"}],"top_k":5,"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}`)
	last, _ = env.Anthropic.Requests.Last()
	if r.Status != 200 || strings.Contains(string(last.Body), "top_k") || !strings.Contains(string(last.Body), `"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}`) ||
		r.Header.Get("X-OpenToken-Dropped-Params") != "top_k" {
		t.Errorf("top_k with adaptive thinking: %d, dropped %q, sent %s", r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), last.Body)
	}
	// A budget on Gemini 2.5 becomes its thinkingBudget.
	r = env.Messages(t, "/v1/messages", `{"model":"google/gemini-2.5-pro","max_tokens":8000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":2048}}`)
	glast, _ = env.Gemini.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(glast.Body), `"thinkingBudget":2048`) {
		t.Errorf("a thinking budget on Gemini: %d %s, sent %s", r.Status, r.Body, glast.Body)
	}
}

// TestMessagesToolLoops: Claude Code's loop — a call, its result, the
// answer — with thinking on, buffered on Claude (signed thinking blocks
// echoed) and streamed on Gemini 3 (its thought signature carried back as
// a thinking block's signature, which Gemini 3 requires).
func TestMessagesToolLoops(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})

	first := `{"model":"claude-haiku-4-5","max_tokens":8000,"thinking":{"type":"enabled","budget_tokens":2048},"tools":[` + messagesWeatherTool + `],` +
		`"messages":[{"role":"user","content":"get_weather for Paris?"}]}`
	r := env.Messages(t, "/v1/messages", first)
	var msg struct {
		StopReason string            `json:"stop_reason"`
		Content    []json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(r.Body, &msg)
	if r.Status != 200 || msg.StopReason != "tool_use" || len(msg.Content) < 2 || !strings.Contains(string(msg.Content[0]), `"type":"thinking"`) ||
		!strings.Contains(string(msg.Content[0]), `"signature":"`) || !strings.Contains(string(msg.Content[len(msg.Content)-1]), `"type":"tool_use"`) {
		t.Fatalf("a Claude call with thinking: %d %s", r.Status, r.Body)
	}
	var call struct{ ID string }
	_ = json.Unmarshal(msg.Content[len(msg.Content)-1], &call)
	assistant, _ := json.Marshal(msg.Content)
	second := strings.Replace(first, `"messages":[{"role":"user","content":"get_weather for Paris?"}]`,
		`"messages":[{"role":"user","content":"get_weather for Paris?"},{"role":"assistant","content":`+string(assistant)+`},`+
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"`+call.ID+`","content":[{"type":"text","text":"18C and sunny"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]`, 1)
	r = env.Messages(t, "/v1/messages", second)
	last, _ := env.Anthropic.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(r.Body), "18C and sunny") || !strings.Contains(string(last.Body), `"thinking":{"type":"enabled"`) ||
		!strings.Contains(string(last.Body), `{"type":"thinking","thinking":`) {
		t.Errorf("the Claude loop's second turn: %d %s, sent %s", r.Status, r.Body, last.Body)
	}

	// Gemini 3, streamed.
	gfirst := `{"model":"google/gemini-3-flash","max_tokens":4000,"stream":true,"thinking":{"type":"adaptive"},"tools":[` + messagesWeatherTool + `],` +
		`"messages":[{"role":"user","content":"get_weather for Oslo?"}]}`
	r = env.Messages(t, "/v1/messages", gfirst)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("a Gemini stream: %d %s", r.Status, r.Body)
	}
	events := messageEvents(t, r.Body)
	var blocks []map[string]any
	var input strings.Builder
	stop := ""
	for _, ev := range events {
		switch ev.Name {
		case "content_block_start":
			blocks = append(blocks, ev.Data["content_block"].(map[string]any))
		case "content_block_delta":
			d := ev.Data["delta"].(map[string]any)
			b := blocks[len(blocks)-1]
			switch d["type"] {
			case "signature_delta":
				b["signature"] = d["signature"]
			case "input_json_delta":
				input.WriteString(d["partial_json"].(string))
			case "thinking_delta":
				b["thinking"] = b["thinking"].(string) + d["thinking"].(string)
			case "text_delta":
				b["text"] = b["text"].(string) + d["text"].(string)
			}
		case "message_delta":
			stop, _ = ev.Data["delta"].(map[string]any)["stop_reason"].(string)
		}
	}
	if len(events) < 6 || events[0].Name != "message_start" || events[len(events)-1].Name != "message_stop" || stop != "tool_use" {
		t.Fatalf("the Gemini stream's events: %s", r.Body)
	}
	var toolUse map[string]any
	signed, sig := false, ""
	for _, b := range blocks {
		if b["type"] == "tool_use" {
			toolUse = b
			b["input"] = json.RawMessage(input.String())
		}
		if s, _ := b["signature"].(string); b["type"] == "thinking" && strings.HasPrefix(s, "opentoken-gemini:") {
			signed, sig = true, strings.TrimPrefix(s, "opentoken-gemini:")
		}
	}
	if toolUse == nil || !signed || !json.Valid([]byte(input.String())) || !strings.Contains(input.String(), `"city"`) {
		t.Fatalf("the Gemini call (tool_use %v, signed %v, input %q): %s", toolUse, signed, input.String(), r.Body)
	}
	assistant, _ = json.Marshal(blocks)
	gsecond := strings.Replace(gfirst, `"messages":[{"role":"user","content":"get_weather for Oslo?"}]`,
		`"messages":[{"role":"user","content":"get_weather for Oslo?"},{"role":"assistant","content":`+string(assistant)+`},`+
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"`+toolUse["id"].(string)+`","content":[{"type":"text","text":"-3C"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]`, 1)
	r = env.Messages(t, "/v1/messages", strings.Replace(gsecond, `"stream":true,`, "", 1))
	glast, _ := env.Gemini.Requests.Last()
	if r.Status != 200 || !strings.Contains(string(r.Body), "-3C") || !strings.Contains(string(glast.Body), `"thoughtSignature":"`+sig+`"`) {
		t.Errorf("the Gemini loop's second turn: %d %s, sent %s", r.Status, r.Body, glast.Body)
	}
	// Without the signature block (a client that drops thinking blocks),
	// the model's spec decides, as on the chat door: Gemini 3's placeholder.
	bare := strings.Replace(gsecond, `"stream":true,`, "", 1)
	for _, b := range blocks {
		if b["type"] == "thinking" {
			one, _ := json.Marshal(b)
			bare = strings.Replace(bare, string(one)+",", "", 1)
		}
	}
	r = env.Messages(t, "/v1/messages", bare)
	glast, _ = env.Gemini.Requests.Last()
	if r.Status != 200 || strings.Contains(string(glast.Body), sig) || !strings.Contains(string(glast.Body), `"thoughtSignature"`) {
		t.Errorf("a Gemini 3 history without its signature: %d %s, sent %s", r.Status, r.Body, glast.Body)
	}
}

// TestMessagesDoorErrors: every failure in Anthropic's envelope, with the
// type its status maps to, which the SDKs read into their error classes.
func TestMessagesDoorErrors(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	ok := `{"model":"claude-sonnet-4-6","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, c := range []struct {
		name, path, body string
		headers          []string
		status           int
		typ, message     string
	}{
		{"no anthropic-version", "/v1/messages", ok, []string{"anthropic-version", ""}, 400, "invalid_request_error", "anthropic-version: header is required"},
		{"no key", "/v1/messages", ok, []string{"x-api-key", ""}, 401, "authentication_error", "missing or malformed credentials"},
		{"a wrong key", "/v1/messages", ok, []string{"x-api-key", "sk-wrong-wrong-wrong-wrong"}, 401, "authentication_error", "invalid api key"},
		{"an unknown model", "/v1/messages", strings.Replace(ok, "claude-sonnet-4-6", "claude-nonesuch-9", 1), nil, 404, "not_found_error", `model "claude-nonesuch-9" not found`},
		{"no max_tokens", "/v1/messages", `{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "max_tokens: Field required"},
		{"an unknown field", "/v1/messages", strings.Replace(ok, `"max_tokens"`, `"colour":1,"max_tokens"`, 1), nil, 400, "invalid_request_error", "colour: Extra inputs are not permitted"},
		{"a bad role", "/v1/messages", strings.Replace(ok, `"role":"user"`, `"role":"system"`, 1), nil, 400, "invalid_request_error", "messages.0.role"},
		{"a server tool", "/v1/messages", strings.Replace(ok, `"max_tokens"`, `"tools":[{"type":"web_search_20250305","name":"web_search"}],"max_tokens"`, 1), nil, 400, "invalid_request_error", "tools.0.type"},
		{"a temperature out of range", "/v1/messages", strings.Replace(ok, `"max_tokens"`, `"temperature":7,"max_tokens"`, 1), nil, 400, "invalid_request_error", "temperature"},
		{"not JSON", "/v1/messages", `{"model":`, nil, 400, "invalid_request_error", "not valid JSON"},
		{"an embeddings model", "/v1/messages", strings.Replace(ok, "claude-sonnet-4-6", "google/gemini-embedding-001", 1), nil, 400, "invalid_request_error", "embeddings model"},
		{"count: a bad field", "/v1/messages/count_tokens", strings.Replace(ok, `"max_tokens":10,`, `"colour":1,`, 1), nil, 400, "invalid_request_error", "colour"},
	} {
		r := env.Messages(t, c.path, c.body, c.headers...)
		var e struct {
			Type  string
			Error struct{ Type, Message string }
		}
		_ = json.Unmarshal(r.Body, &e)
		if r.Status != c.status || e.Type != "error" || e.Error.Type != c.typ || !strings.Contains(e.Error.Message, c.message) {
			t.Errorf("%s: %d %s, want %d %s %q", c.name, r.Status, r.Body, c.status, c.typ, c.message)
		}
	}
	// Claude Code appends ?beta=true; a Bearer key works as x-api-key does.
	if r := env.Messages(t, "/v1/messages?beta=true", ok, "x-api-key", "", "Authorization", "Bearer "+gatewaytest.ClientKey); r.Status != 200 {
		t.Errorf("?beta=true with a Bearer key: %d %s", r.Status, r.Body)
	}
	// A newer anthropic-version, as the 1.x SDKs send, is taken; a
	// malformed one is not.
	if r := env.Messages(t, "/v1/messages", ok, "anthropic-version", "2026-03-01"); r.Status != 200 {
		t.Errorf("a newer anthropic-version: %d %s", r.Status, r.Body)
	}
	if r := env.Messages(t, "/v1/messages", ok, "anthropic-version", "latest"); r.Status != 400 || !strings.Contains(string(r.Body), "anthropic-version") {
		t.Errorf("a malformed anthropic-version: %d %s", r.Status, r.Body)
	}
	// An upstream failure keeps its class: overloaded is overloaded_error.
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`})
	r := env.Messages(t, "/v1/messages", ok)
	if r.Status != 503 || !strings.Contains(string(r.Body), `"type":"overloaded_error"`) {
		t.Errorf("an overloaded upstream: %d %s", r.Status, r.Body)
	}
}

// TestMessagesCountAndModels: count_tokens on both providers, never billed;
// the model list in Anthropic's shape when the request carries
// anthropic-version; and usage billed to an issued key's ledger.
func TestMessagesCountAndModels(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = db.CreateWorkspace(ctx, "acme")
	_ = db.AddCredit(ctx, "acme", store.FromDollars(1), "test")
	_, secret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "claude-code"})
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(dir, "spill")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tn.Close(); err != nil {
			t.Error(err)
		}
	}()
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn, Metrics: true})
	for _, model := range []string{"claude-haiku-4-5-20251001", "google/gemini-3.1-pro"} {
		before := env.Anthropic.Requests.Count() + env.Gemini.Requests.Count()
		r := env.Messages(t, "/v1/messages/count_tokens", `{"model":"`+model+`","system":"Be brief.","messages":[{"role":"user","content":"how many tokens is this prompt, roughly?"}],"tools":[`+messagesWeatherTool+`]}`,
			"x-api-key", secret)
		var n struct {
			InputTokens int `json:"input_tokens"`
		}
		if _ = json.Unmarshal(r.Body, &n); r.Status != 200 || n.InputTokens <= 0 || env.Anthropic.Requests.Count()+env.Gemini.Requests.Count() != before+1 {
			t.Errorf("count_tokens on %s: %d %s", model, r.Status, r.Body)
		}
	}
	r := env.Messages(t, "/v1/messages", `{"model":"google/gemini-3-flash","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}`, "x-api-key", secret)
	if r.Status != 200 {
		t.Fatalf("a message with an issued key: %d %s", r.Status, r.Body)
	}
	tn.Flush()
	rows, err := db.Usage(ctx, store.UsageFilter{})
	requests := 0
	for _, row := range rows {
		requests += int(row.Requests)
	}
	if err != nil || requests != 1 {
		t.Errorf("the ledger holds the message, not the counts: %v %+v", err, rows)
	}
	if m := env.Do(t, http.MethodGet, "/metrics", "", nil); !strings.Contains(string(m.Body), `endpoint="messages"`) || !strings.Contains(string(m.Body), `endpoint="count_tokens"`) {
		t.Errorf("the metrics have no messages endpoint")
	}

	req, _ := http.NewRequest(http.MethodGet, env.URL+"/v1/models?limit=3", nil)
	req.Header.Set("x-api-key", gatewaytest.ClientKey)
	req.Header.Set("anthropic-version", gatewaytest.AnthropicVersion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := gatewaytest.ReadResponse(t, resp)
	var list struct {
		Data []struct {
			Type, ID    string
			DisplayName string `json:"display_name"`
		}
		HasMore bool   `json:"has_more"`
		FirstID string `json:"first_id"`
		LastID  string `json:"last_id"`
	}
	if _ = json.Unmarshal(page.Body, &list); page.Status != 200 || len(list.Data) != 3 || !list.HasMore || list.FirstID != "anthropic/claude-haiku-4-5" ||
		!strings.Contains(string(page.Body), `"display_name":"Claude Haiku 4.5"`) || strings.Contains(string(page.Body), "embedding") {
		t.Errorf("the Anthropic model list: %d %s", page.Status, page.Body)
	}
	if plain := env.Do(t, http.MethodGet, "/v1/models", gatewaytest.ClientKey, nil); !strings.Contains(string(plain.Body), `"object":"list"`) {
		t.Errorf("without anthropic-version the list is OpenAI's: %s", plain.Body)
	}
}

// TestMessagesOnVertex: the Messages door's calls fail over to Vertex AI
// like the chat door's, count_tokens too (Claude's count-tokens model,
// Gemini's :countTokens), each in Vertex's own shape.
func TestMessagesOnVertex(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	overloaded := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	unavailable := `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`
	for _, c := range []struct {
		model, path, body string
		fail              func()
	}{
		{"claude-sonnet-4-5", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			func() { env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: overloaded}) }},
		{"claude-sonnet-4-5", "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","system":"s","messages":[{"role":"user","content":"count me"}]}`,
			func() { env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: overloaded}) }},
		{"google/gemini-3-flash", "/v1/messages/count_tokens", `{"model":"google/gemini-3-flash","system":"s","messages":[{"role":"user","content":"count me"}],"tools":[` + messagesWeatherTool + `]}`,
			func() { env.Gemini.Faults.Push(emulator.Fault{Status: 503, Body: unavailable}) }},
	} {
		c.fail()
		before := env.Vertex.Requests.Count()
		r := env.Messages(t, c.path, c.body)
		if r.Status != 200 || env.Vertex.Requests.Count() != before+1 || r.Header.Get("X-OpenToken-Supplier") != "vertex:global" {
			t.Errorf("%s %s failing over to Vertex: %d %s, supplier %q", c.model, c.path, r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"))
		}
	}
}

// TestMessagesTooLarge: a body over the limit, refused before it is read,
// is answered in the Messages door's envelope too.
func TestMessagesTooLarge(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{MaxBodyBytes: 1024}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\nanthropic-version: 2023-06-01\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", gatewaytest.ClientKey, 4096)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := gatewaytest.ReadResponse(t, resp)
	if r.Status != 413 || !strings.Contains(string(r.Body), `{"type":"error","error":{"type":"request_too_large"`) {
		t.Errorf("an oversized message: %d %s", r.Status, r.Body)
	}
}
