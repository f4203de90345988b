package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

var streamModels = []string{"anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-7", "google/gemini-2.5-pro", "google/gemini-3-flash"}

func streamBody(model, extra string) string {
	return `{"model":"` + model + `","messages":[{"role":"user","content":"Name three primary colors, briefly."}],"seed":7,"reasoning":{"effort":"low"}` + extra + `}`
}

func deltaString(f gatewaytest.Frame, key string) (string, bool) {
	if len(f.Chunk.Choices) != 1 {
		return "", false
	}
	raw, ok := f.Chunk.Choices[0].Delta[key]
	if !ok {
		return "", false
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s, true
}

// TestStreamFrames checks the exact frame sequence of a stream on each
// provider, and that it carries the same answer and usage as the
// non-streamed completion of the same request.
func TestStreamFrames(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Anthropic.Stream.Words, env.Gemini.Stream.Words = 2, 1
	for _, model := range streamModels {
		var whole struct {
			Choices []struct {
				Message struct{ Content, Reasoning string }
			}
			Usage json.RawMessage
		}
		plain := env.Chat(t, streamBody(model, ""))
		if err := json.Unmarshal(plain.Body, &whole); err != nil || plain.Status != 200 {
			t.Fatalf("%s: non-streamed: %d %s", model, plain.Status, plain.Body)
		}

		resp := env.Stream(t, streamBody(model, `,"stream":true,"stream_options":{"include_usage":false}`))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if d := resp.Header.Get("X-OpenToken-Dropped-Params"); !strings.Contains(d, "stream_options") {
			t.Errorf("%s: X-OpenToken-Dropped-Params = %q", model, d)
		}
		frames := gatewaytest.ReadFrames(t, resp.Body)
		n := len(frames)
		if n < 5 {
			t.Fatalf("%s: only %d frames", model, n)
		}
		first := frames[0].Chunk
		if role, ok := deltaString(frames[0], "role"); !ok || role != "assistant" || len(first.Choices[0].Delta) != 1 {
			t.Errorf("%s: first frame %s, want a delta of only the role", model, frames[0].Raw)
		}
		var content, reasoning strings.Builder
		for i, f := range frames[:n-1] {
			c := f.Chunk
			if c.ID != first.ID || c.Created != first.Created || c.Model != model || c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") {
				t.Errorf("%s: frame %d does not share id/created/model: %s", model, i, f.Raw)
			}
			if i == 0 || i >= n-3 {
				continue
			}
			text, isContent := deltaString(f, "content")
			thought, isReasoning := deltaString(f, "reasoning")
			if isContent == isReasoning || c.Choices[0].FinishReason != nil {
				t.Errorf("%s: middle frame %d is not one content or reasoning delta: %s", model, i, f.Raw)
			}
			content.WriteString(text)
			reasoning.WriteString(thought)
		}
		finish := frames[n-3].Chunk
		if len(finish.Choices) != 1 || len(finish.Choices[0].Delta) != 0 || finish.Choices[0].FinishReason == nil || *finish.Choices[0].FinishReason != "stop" {
			t.Errorf("%s: finish frame %s", model, frames[n-3].Raw)
		}
		usage := frames[n-2].Chunk
		if usage.Choices == nil || len(usage.Choices) != 0 || usage.Usage == nil {
			t.Errorf("%s: usage frame %s", model, frames[n-2].Raw)
		} else {
			var raw struct{ Usage json.RawMessage }
			_ = json.Unmarshal([]byte(frames[n-2].Raw), &raw)
			if !sameJSON(raw.Usage, whole.Usage) {
				t.Errorf("%s: streamed usage %s, non-streamed %s", model, raw.Usage, whole.Usage)
			}
		}
		if !frames[n-1].Done {
			t.Errorf("%s: last frame %s, want [DONE]", model, frames[n-1].Raw)
		}
		if content.String() != whole.Choices[0].Message.Content || reasoning.String() != whole.Choices[0].Message.Reasoning {
			t.Errorf("%s: streamed %q / %q, non-streamed %q / %q", model, content.String(), reasoning.String(),
				whole.Choices[0].Message.Content, whole.Choices[0].Message.Reasoning)
		}
		if reasoning.Len() == 0 {
			t.Errorf("%s: no reasoning streamed with reasoning on", model)
		}
	}
}

// sameJSON compares two JSON values for equal content.
func sameJSON(a, b []byte) bool {
	var x, y any
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestStreamExcludedReasoning: reasoning.exclude keeps thinking on but its
// text out of the stream.
func TestStreamExcludedReasoning(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, model := range []string{"anthropic/claude-haiku-4-5", "google/gemini-3.1-pro"} {
		frames := gatewaytest.ReadFrames(t, env.Stream(t, `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}],"reasoning":{"effort":"high","exclude":true}}`).Body)
		for _, f := range frames {
			if strings.Contains(f.Raw, `"reasoning":`) {
				t.Errorf("%s: reasoning streamed despite exclude: %s", model, f.Raw)
			}
		}
		if u := frames[len(frames)-2].Chunk.Usage; u == nil || u.CompletionTokensDetails.ReasoningTokens == 0 {
			t.Errorf("%s: reasoning tokens missing from usage", model)
		}
	}
}

// TestStreamFailures injects each failure after the stream began: the
// client gets one error frame in the standard envelope, then [DONE].
func TestStreamFailures(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{StreamIdleTimeout: time.Second}})
	type push func(emulator.Fault)
	providers := []struct {
		model string
		push  push
	}{
		{"anthropic/claude-opus-4-6", env.Anthropic.Faults.Push},
		{"google/gemini-3.1-flash-lite", env.Gemini.Faults.Push},
	}
	for _, p := range providers {
		for _, c := range []struct {
			name  string
			fault emulator.StreamFault
			code  string
			msg   string
		}{
			{"upstream error event", emulator.StreamFault{AfterEvents: 3, Error: true}, "upstream_error", "overloaded"},
			{"connection cut", emulator.StreamFault{AfterEvents: 3, Cut: true}, "upstream_error", ""},
			{"malformed event", emulator.StreamFault{AfterEvents: 3, Malformed: true}, "upstream_error", "could not read"},
		} {
			committed := make(chan struct{})
			c.fault.Wait = committed
			p.push(emulator.Fault{Stream: &c.fault})
			checkErrorStream(t, p.model+" "+c.name, env, p.model, c.code, c.msg, committed)
		}
		stall := make(chan struct{})
		p.push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 3, Stall: stall}})
		checkErrorStream(t, p.model+" stall", env, p.model, "upstream_timeout", "stalled", make(chan struct{}))
		close(stall)
		// Before the stream's first content, a failure is the request's
		// answer: nothing was sent, no stream begins.
		p.push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 0, Error: true}})
		r := env.Chat(t, streamBody(p.model, `,"stream":true`))
		if r.Status < 500 || strings.Contains(string(r.Body), "data:") || !strings.Contains(strings.ToLower(string(r.Body)), "overloaded") {
			t.Errorf("%s: an error before any content: %d %s", p.model, r.Status, r.Body)
		}
	}
	// Before the first byte, failures are ordinary HTTP errors.
	env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`, Header: map[string]string{"retry-after": "3"}})
	r := env.Chat(t, `{"model":"google/gemini-3-flash","stream":true,`+okMessages+`}`)
	expectError(t, "stream upstream 429", r, 429, "upstream_error", "upstream_error", nil)
	expectError(t, "stream unknown model", env.Chat(t, `{"model":"openai/gpt-4o","stream":true,`+okMessages+`}`), 400, "invalid_request_error", "model_not_found", "model")
	// The gateway serves on after every failure.
	if frames := gatewaytest.ReadFrames(t, env.Stream(t, streamBody("google/gemini-3-flash", `,"stream":true`)).Body); !frames[len(frames)-1].Done {
		t.Error("no clean stream after the failures")
	}
}

// checkErrorStream reads a stream whose upstream fails once committed is
// closed, which happens when the first bytes reach the client.
func checkErrorStream(t *testing.T, name string, env *gatewaytest.Env, model, code, msg string, committed chan struct{}) {
	t.Helper()
	resp := env.Stream(t, streamBody(model, `,"stream":true`))
	if resp.StatusCode != 200 {
		t.Errorf("%s: status %d", name, resp.StatusCode)
		close(committed)
		return
	}
	frames := gatewaytest.ReadFrames(t, &onFirstRead{r: resp.Body, do: func() { close(committed) }})
	n := len(frames)
	if n < 3 || !frames[n-1].Done {
		t.Errorf("%s: stream does not end with [DONE]: %d frames", name, n)
		return
	}
	e := frames[n-2].Chunk.Error
	if e == nil || e.Type != "upstream_error" || e.Code == nil || *e.Code != code || !strings.Contains(strings.ToLower(e.Message), msg) {
		t.Errorf("%s: error frame %s, want code %s mentioning %q", name, frames[n-2].Raw, code, msg)
	}
	for _, f := range frames[:n-2] {
		if f.Chunk.Error != nil || f.Chunk.Usage != nil {
			t.Errorf("%s: unexpected frame before the error: %s", name, f.Raw)
		}
	}
}

// TestStreamClientDisconnect: a client that leaves while the upstream is
// silent makes the gateway close the upstream request at once, not at the
// next event or the idle timeout.
func TestStreamClientDisconnect(t *testing.T) {
	ended := make(chan string, 4)
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{StreamIdleTimeout: time.Hour}, OnStreamEnd: func(r string) { ended <- r }})
	for _, p := range []struct {
		model string
		push  func(emulator.Fault)
	}{{"anthropic/claude-haiku-4-5", env.Anthropic.Faults.Push}, {"google/gemini-2.5-pro", env.Gemini.Faults.Push}} {
		stall := make(chan struct{})
		p.push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 3, Stall: stall}})
		resp := env.Stream(t, streamBody(p.model, `,"stream":true`))
		buf := make([]byte, 64)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		closeIdle()
		select {
		case reason := <-ended:
			if reason != "client_gone" {
				t.Errorf("%s: stream ended %q, want client_gone", p.model, reason)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the gateway did not notice the client leaving", p.model)
		}
		close(stall)
		if n := env.Server.ActiveStreams(); n != 0 {
			t.Errorf("%s: %d streams still active", p.model, n)
		}
	}
}

// TestManyConcurrentStreams runs streams on every provider at once; each
// must arrive whole and in order.
func TestManyConcurrentStreams(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 64; i++ {
		model := streamModels[i%len(streamModels)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := env.PostStream(streamBody(model, `,"stream":true`))
			if err != nil {
				errs <- model + ": " + err.Error()
				return
			}
			defer resp.Body.Close()
			frames, err := gatewaytest.ParseFrames(resp.Body)
			n := len(frames)
			if err != nil || n < 5 || !frames[n-1].Done || frames[n-2].Chunk.Usage == nil || frames[0].Chunk.Model != model {
				errs <- model
			}
		}()
	}
	wg.Wait()
	close(errs)
	for m := range errs {
		t.Errorf("a concurrent stream on %s arrived incomplete", m)
	}
	if n := env.Server.ActiveStreams(); n != 0 {
		t.Errorf("%d streams still active", n)
	}
}

// onFirstRead calls do once, after the first read that returns data.
type onFirstRead struct {
	r    io.Reader
	do   func()
	done bool
}

func (o *onFirstRead) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if n > 0 && !o.done {
		o.done = true
		o.do()
	}
	return n, err
}

// TestStreamKeepsConnection: a finished stream leaves its connection ready
// for the client's next request, stream or not.
func TestStreamKeepsConnection(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	reused := 0
	for i, body := range []string{streamBody("google/gemini-3-flash", `,"stream":true`), streamBody("anthropic/claude-haiku-4-5", `,"stream":true`), streamBody("google/gemini-3-flash", "")} {
		req, _ := http.NewRequest("POST", env.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			},
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !(strings.HasSuffix(string(b), "data: [DONE]\n\n") || strings.Contains(string(b), `"chat.completion"`)) {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, err, b)
		}
	}
	if reused != 2 {
		t.Errorf("the connection was reused %d times, want 2", reused)
	}
}
