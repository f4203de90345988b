package server

import (
	"testing"

	"github.com/opentoken/opentoken/llm"
)

// A record goes back to the pool holding nothing of its request: no
// message, no field of the request, only the cleared room for messages
// (none when a long history made it large).
func TestPutRecordKeepsNothingOfTheRequest(t *testing.T) {
	r := &record{msgs: make([]llm.Message, 0, 8), supplier: "s"}
	r.req.Model = "m"
	r.req.Messages = append(r.msgs, llm.Message{Role: "user", Content: llm.Content{Text: "secret"}}, llm.Message{Role: "assistant"})
	r.msgs = r.req.Messages[:0]
	putRecord(r)
	if r.req.Model != "" || r.req.Messages != nil || r.supplier != "" {
		t.Errorf("the record keeps its request: %+v", r.req)
	}
	if cap(r.msgs) != 8 || len(r.msgs) != 0 {
		t.Fatalf("room for messages: len %d cap %d, want 0 and 8", len(r.msgs), cap(r.msgs))
	}
	for i, m := range r.msgs[:cap(r.msgs)] {
		if m.Role != "" || m.Content.Text != "" {
			t.Errorf("message %d kept: %+v", i, m)
		}
	}

	big := &record{msgs: make([]llm.Message, keptMessages+1)}
	putRecord(big)
	if big.msgs != nil {
		t.Errorf("the room of %d messages is kept", keptMessages+1)
	}
}

// A stream's record is returned to the pool only when both the handler and
// the stream's writer have let go of it.
func TestReleaseRecordWaitsForBoth(t *testing.T) {
	r := &record{supplier: "s"}
	r.holds.Store(1) // the handler's
	r.holds.Add(1)   // the writer's
	releaseRecord(r)
	if r.supplier != "s" {
		t.Fatal("the record went back to the pool while still held")
	}
	releaseRecord(r)
	if r.supplier != "" {
		t.Fatal("the record was not returned once both let go")
	}
}
