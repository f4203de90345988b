package adapter

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opentoken/opentoken/internal/json"
)

// upstreamGoldens are the upstream answers and stream events of the wire
// goldens of one provider (anthropic, gemini): what the upstream sends.
func upstreamGoldens(t testing.TB, provider string) (answers, events [][]byte) {
	answerPaths, _ := filepath.Glob("testdata/" + provider + "*/*/upstream_response.json")
	more, _ := filepath.Glob("testdata/" + provider + "*/upstream_response.json")
	for _, p := range append(answerPaths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, b)
	}
	streamPaths, _ := filepath.Glob("testdata/" + provider + "*/*/upstream_response.sse")
	for _, p := range streamPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				events = append(events, data)
			}
		}
	}
	if len(answers) < 5 || len(events) < 10 {
		t.Fatalf("found %d answers and %d events", len(answers), len(events))
	}
	return answers, events
}

var anthropicTricky = []string{
	`{"content":[{"type":"text","text":"hi","citations":null}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":2,"cache_creation":{"ephemeral_1h_input_tokens":3}}}`,
	`{"content":[{"type":"tool_use","id":"t","name":"f","input":{"a":[1,2]}},{"type":"thinking","thinking":"x","signature":"s"},{"type":"redacted_thinking","data":"d"}],"stop_reason":"tool_use"}`,
	`{"content":[{"type":"thinking","signature":null}],"stop_reason":"end_turn"}`,
	`{"content":[{"TYPE":"text"}],"stop_reason":"end_turn"}`,
	`{"content":[],"stop_reason":"end_turn","usage":{"input_tokens":1.5}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a \"b\" \u00e9"}}`,
	`{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":7,"input_tokens":null}}`,
	`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`,
	`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	`{"type":"message_start","message":{"usage":{"input_tokens":5,"cache_creation":{"ephemeral_1h_input_tokens":2}},"Usage":1}}`,
	`{"type": "ping"}`,
}

// agreeUpstream decodes text both ways into a fresh *T and fails t where
// the reader takes what goccy/go-json refuses or reads it otherwise.
func agreeUpstream[T any](t testing.TB, text []byte, read func([]byte, *T) bool) bool {
	t.Helper()
	var fast, careful T
	if !read(text, &fast) {
		return false
	}
	if err := json.UnmarshalNoCopy(text, &careful); err != nil {
		t.Fatalf("the reader takes %q, goccy/go-json refuses it: %v", text, err)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", text, fast, careful)
	}
	return true
}

// FuzzAnthropicReaders holds the one-pass readers of Anthropic's answers and
// events to goccy/go-json: the same texts taken, to the same values.
func FuzzAnthropicReaders(f *testing.F) {
	answers, events := upstreamGoldens(f, "anthropic")
	for _, b := range append(answers, events...) {
		f.Add(b)
	}
	for _, s := range anthropicTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		agreeUpstream(t, text, readAnthropicMessage)
		agreeUpstream(t, text, readAnthropicEvent)
	})
}

// The readers must take what Anthropic sends, not leave it all to goccy/go-json.
func TestAnthropicReadersTakeTheGoldens(t *testing.T) {
	answers, events := upstreamGoldens(t, "anthropic")
	for _, b := range answers {
		if !agreeUpstream(t, b, readAnthropicMessage) {
			t.Errorf("readAnthropicMessage does not take %s", b)
		}
	}
	for _, b := range events {
		if !agreeUpstream(t, b, readAnthropicEvent) {
			t.Errorf("readAnthropicEvent does not take %s", b)
		}
	}
}
