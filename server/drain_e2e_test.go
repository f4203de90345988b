package server_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

// TestShutdownDrains: a shutdown lets short requests finish, and at the
// end of the drain time ends what still runs: open streams get an error
// frame and [DONE], a buffered request still upstream a 503; then it
// returns.
func TestShutdownDrains(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{DrainTimeout: 300 * time.Millisecond}})
	// Streams of about 45 events 100 ms apart: they outlast the drain.
	env.Anthropic.Stream = emulator.StreamOptions{Words: 1, Delay: 100 * time.Millisecond}
	env.Gemini.Stream = emulator.StreamOptions{Words: 1, Delay: 100 * time.Millisecond}
	prompt := strings.TrimSpace(strings.Repeat("word ", 40))

	hang := make(chan struct{})
	defer close(hang)
	arrived := make(chan struct{})
	env.Anthropic.Faults.Push(emulator.Fault{Hang: hang, Arrived: arrived})
	// Sent from another goroutine, which must not fail the test itself:
	// what it got goes back over the channel.
	buffered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", env.URL+"/v1/chat/completions", strings.NewReader(chatReq(claudeModel, false)))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			resp = nil
		}
		buffered <- resp
	}()
	<-arrived

	var streams []*bufio.Reader
	for _, model := range []string{claudeModel, geminiModel, claudeModel, geminiModel} {
		resp := env.Stream(t, `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
		// The first frame proves the stream is committed.
		br := bufio.NewReader(resp.Body)
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
			t.Fatalf("first frame %q: %v", line, err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, br)
	}

	shut := make(chan error, 1)
	go func() { shut <- env.Server.Shutdown() }()

	for i, br := range streams {
		frames := gatewaytest.ReadFrames(t, br)
		n := len(frames)
		if n < 2 || !frames[n-1].Done || frames[n-2].Chunk.Error == nil || frames[n-2].Chunk.Error.Code == nil ||
			*frames[n-2].Chunk.Error.Code != "shutting_down" {
			t.Errorf("stream %d at the drain's end: want a shutting_down error frame and [DONE], got %v", i, frames[max(0, n-2):])
		}
	}
	if resp := <-buffered; resp == nil {
		t.Error("the buffered request upstream at the drain got no answer")
	} else {
		expectError(t, "buffered request at the drain's end", gatewaytest.ReadResponse(t, resp), 503, "api_error", "shutting_down", nil)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if n := env.Server.ActiveStreams(); n != 0 {
		t.Errorf("%d streams still active after Shutdown", n)
	}
}
