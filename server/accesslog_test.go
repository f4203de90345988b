package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// TestAccessLogFormats: a line in the JSON format parses, with every
// field; in the text format, values that need it are quoted.
func TestAccessLogFormats(t *testing.T) {
	r := &record{start: time.Now(), endpoint: endpointChat, key: 1, code: "no_supplier", errKind: noUpstreamError}
	r.model = generated.Lookup("google/gemini-3-flash")
	r.ridLen = copy(r.rid[:], "req_1")
	r.dropped = 1 << generated.ParamSeed
	var out bytes.Buffer
	(&accessLog{w: &out, json: true}).write(503, r, 1500*time.Microsecond)
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	for k, want := range map[string]any{"msg": "request", "level": "INFO", "request_id": "req_1", "key": 1.0, "model": "google/gemini-3-flash",
		"status": 503.0, "code": "no_supplier", "stream": false, "duration_ms": 1.5, "dropped": "seed"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	out.Reset()
	r.code = ""
	(&accessLog{w: &out}).write(200, r, time.Millisecond)
	if s := out.String(); !strings.Contains(s, ` msg=request request_id=req_1 key=1 endpoint=chat_completions model=google/gemini-3-flash status=200 code="" stream=false`) ||
		!strings.HasSuffix(s, "dropped=seed\n") {
		t.Errorf("text line: %s", s)
	}
	// An issued key is named by its id and workspace.
	out.Reset()
	r.key = -1
	r.principal = &tenancy.Principal{Key: &store.Key{ID: 42, Workspace: "acme team"}}
	(&accessLog{w: &out}).write(200, r, time.Millisecond)
	if s := out.String(); !strings.Contains(s, ` key=-1 key_id=42 workspace="acme team" endpoint=chat_completions `) {
		t.Errorf("an issued key's line: %s", s)
	}
}

// writes is a writer that hands each write on.
type writes chan string

func (w writes) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// TestAccessLogBatches: batched lines are written together, whole, once
// accessLogBatch bytes are kept, or when the first of them has waited
// flushEvery, and at close, after which each line goes out as it ends.
func TestAccessLogBatches(t *testing.T) {
	r := &record{start: time.Now(), endpoint: endpointChat, key: 1}
	r.ridLen = copy(r.rid[:], "req_1")
	out := make(writes, 100)

	full := newAccessLog(out, false, time.Hour)
	lines := 0
	for kept := 0; kept < accessLogBatch; lines++ {
		if len(out) != 0 {
			t.Fatalf("written after %d lines, %d bytes kept: %q", lines, kept, <-out)
		}
		full.write(200, r, time.Millisecond)
		kept = len(full.kept)
		if kept == 0 { // written: the batch was full
			break
		}
	}
	if len(out) != 1 {
		t.Fatal("a full batch was not written")
	}
	batch := <-out
	if n := strings.Count(batch, "msg=request"); n != lines+1 || !strings.HasSuffix(batch, "\n") || len(batch) < accessLogBatch {
		t.Errorf("a full batch: %d lines, %d bytes, want %d whole lines over %d bytes", n, len(batch), lines+1, accessLogBatch)
	}

	full.write(404, r, time.Millisecond)
	full.close()
	if len(out) != 1 {
		t.Fatal("close did not write the kept line")
	}
	if got := <-out; !strings.Contains(got, "status=404") || strings.Count(got, "\n") != 1 {
		t.Errorf("close wrote %q", got)
	}
	full.write(500, r, time.Millisecond)
	if len(out) != 1 || !strings.Contains(<-out, "status=500") {
		t.Error("after close, a line is not written as it ends")
	}

	timed := newAccessLog(out, false, time.Millisecond)
	timed.write(201, r, time.Millisecond)
	timed.write(202, r, time.Millisecond)
	var got string
	for !strings.Contains(got, "status=202") { // in one write or, if the timer fired between them, two
		select {
		case w := <-out:
			got += w
		case <-time.After(10 * time.Second):
			t.Fatalf("kept lines were not written once the first had waited: %q", got)
		}
	}
	if !strings.Contains(got, "status=201") {
		t.Errorf("the timer wrote %q", got)
	}
}
