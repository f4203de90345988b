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
