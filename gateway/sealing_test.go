package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// postResponses posts a Responses body to a started gateway with the demo key.
func postResponses(t *testing.T, addr, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/responses", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DemoKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestSealingKeyOutlivesARestart: with no OPENTOKEN_SEALING_KEY, the key
// is drawn once and kept in the database, so reasoning sealed before a
// restart (or by another replica) opens after it; with a configured key,
// a gateway on another database opens it too; with another key, it is
// refused.
func TestSealingKeyOutlivesARestart(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "opentoken.db")
	first := `{"model":"anthropic/claude-haiku-4-5","store":false,"include":["reasoning.encrypted_content"],"reasoning":{"effort":"low"},` +
		`"max_output_tokens":8000,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],` +
		`"input":"get_weather for Lima?"}`
	start := func(env map[string]string) *Gateway {
		g, err := Start(load(t, env), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	// The loop's second turn, with the first turn's output as its history.
	second := func(output json.RawMessage) string {
		var items []json.RawMessage
		_ = json.Unmarshal(output, &items)
		var call struct {
			CallID string `json:"call_id"`
		}
		_ = json.Unmarshal(items[len(items)-1], &call)
		input := append([]json.RawMessage{json.RawMessage(`{"role":"user","content":"get_weather for Lima?"}`)}, items...)
		input = append(input, json.RawMessage(`{"type":"function_call_output","call_id":"`+call.CallID+`","output":"19C"}`))
		b, _ := json.Marshal(input)
		return strings.Replace(first, `"input":"get_weather for Lima?"`, `"input":`+string(b), 1)
	}
	g := start(map[string]string{"OPENTOKEN_DATABASE_URL": db})
	status, body := postResponses(t, g.Addr, first)
	g.Close()
	var resp struct{ Output json.RawMessage }
	if _ = json.Unmarshal(body, &resp); status != 200 || !bytes.Contains(body, []byte(`"encrypted_content":"otk1.`)) {
		t.Fatalf("the first turn: %d %s", status, body)
	}
	g = start(map[string]string{"OPENTOKEN_DATABASE_URL": db})
	status, body = postResponses(t, g.Addr, second(resp.Output))
	g.Close()
	if status != 200 || !bytes.Contains(body, []byte("19C")) {
		t.Errorf("after a restart on the same database: %d %s", status, body)
	}

	key := "oaNRV3OgmOCjBnRYOQGJh4J1uBs9EbTV10k8JBbGeBg="
	g = start(map[string]string{"OPENTOKEN_SEALING_KEY": key})
	status, body = postResponses(t, g.Addr, first)
	g.Close()
	if _ = json.Unmarshal(body, &resp); status != 200 {
		t.Fatalf("the first turn with a configured key: %d %s", status, body)
	}
	g = start(map[string]string{"OPENTOKEN_SEALING_KEY": key}) // another database
	if status, body = postResponses(t, g.Addr, second(resp.Output)); status != 200 {
		t.Errorf("the configured key on another database: %d %s", status, body)
	}
	g.Close()
	g = start(map[string]string{"OPENTOKEN_SEALING_KEY": "Ax5cSsYx6R3/3jDqOPUyu7OqNNDZTd3lbMIvz7l6Tss="})
	defer g.Close()
	if status, body = postResponses(t, g.Addr, second(resp.Output)); status != 400 || !bytes.Contains(body, []byte("encrypted_content")) {
		t.Errorf("another key: %d %s", status, body)
	}
}
