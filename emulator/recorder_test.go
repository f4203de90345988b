package emulator

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestRecorderOnlyWhenEnabled: an emulator keeps no request until a test
// enables recording, and then at most recorderKeep of them.
func TestRecorderOnlyWhenEnabled(t *testing.T) {
	var r Recorder
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/messages")
	ctx.Request.SetBodyString(`{"a":1}`)
	r.Record(&ctx)
	if _, ok := r.Last(); ok || r.Count() != 0 {
		t.Fatal("recorded while disabled")
	}
	r.Enable()
	for range recorderKeep + 10 {
		r.Record(&ctx)
	}
	last, ok := r.Last()
	if !ok || string(last.Body) != `{"a":1}` || r.Count() != recorderKeep+10 || len(r.reqs) != recorderKeep {
		t.Errorf("count %d, kept %d, last %+v", r.Count(), len(r.reqs), last)
	}
}
