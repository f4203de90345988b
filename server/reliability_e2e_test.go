package server_test

// Regression tests of the defects found by hostile testing (issue 8): long
// streams, secrets in upstream text, stale upstream connections, unbounded
// answers, wrong-shaped answers, the lost 413, abandoned requests, header
// limits, redirects and Retry-After, the Authorization header, slow heads.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

const (
	claudeModel = "anthropic/claude-sonnet-4-5"
	geminiModel = "google/gemini-3-flash"
)

func chatReq(model string, stream bool) string {
	return `{"model":"` + model + `","stream":` + strconv.FormatBool(stream) + `,` + okMessages + `}`
}

// Native answers a raw upstream sends, by provider.
const (
	anthropicAnswer = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`
	anthropicSSE = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	geminiAnswer = `{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4}}`
	geminiSSE = "data: " + geminiAnswer + "\n\n"
)

// answer writes a keep-alive HTTP/1.1 answer.
func answer(c net.Conn, status int, contentType, body string, extraHeaders ...string) {
	h := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\nContent-Type: " + contentType +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	for _, x := range extraHeaders {
		h += x + "\r\n"
	}
	_, _ = io.WriteString(c, h+"\r\n"+body)
}

// nativeAnswer answers req as its upstream would, buffered or streamed.
func nativeAnswer(c net.Conn, req *http.Request) {
	gemini := strings.Contains(req.URL.Path, ":")
	streamed := strings.Contains(req.URL.Path, "stream") || strings.Contains(readBody(req), `"stream":true`)
	switch {
	case gemini && streamed:
		answer(c, 200, "text/event-stream", geminiSSE)
	case gemini:
		answer(c, 200, "application/json", geminiAnswer)
	case streamed:
		answer(c, 200, "text/event-stream", anthropicSSE)
	default:
		answer(c, 200, "application/json", anthropicAnswer)
	}
}

func readBody(req *http.Request) string {
	if req.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(req.Body)
	return string(b)
}

// rawEnv points both providers of a gateway at one raw upstream.
func rawEnv(t *testing.T, lim server.Limits, serve func(net.Conn, *bufio.Reader)) (*gatewaytest.Env, *gatewaytest.RawUpstream) {
	up := gatewaytest.StartRaw(t, serve)
	return gatewaytest.Start(t, gatewaytest.Options{Limits: lim, AnthropicURL: up.URL, GeminiURL: up.URL}), up
}

// TestLongStreamOutlivesServerTimeouts: a stream runs as long as its
// upstream keeps talking, well past every server timeout, and ends with its
// finish chunk, usage and [DONE].
func TestLongStreamOutlivesServerTimeouts(t *testing.T) {
	short := 200 * time.Millisecond
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{HeaderTimeout: short, ReadTimeout: short,
		WriteTimeout: short, IdleTimeout: short, UpstreamTimeout: short, StreamIdleTimeout: time.Second}})
	// About 45 events 30 ms apart: 1.3 s, six times every server timeout.
	env.Anthropic.Stream = emulator.StreamOptions{Words: 1, Delay: 30 * time.Millisecond}
	env.Gemini.Stream = emulator.StreamOptions{Words: 1, Delay: 30 * time.Millisecond}
	prompt := strings.TrimSpace(strings.Repeat("word ", 40))
	for _, model := range []string{claudeModel, geminiModel} {
		start := time.Now()
		resp := env.Stream(t, `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
		frames := gatewaytest.ReadFrames(t, resp.Body)
		took := time.Since(start)
		n := len(frames)
		if n < 40 || !frames[n-1].Done || frames[n-2].Chunk.Usage == nil || frames[n-3].Chunk.Choices[0].FinishReason == nil {
			t.Fatalf("%s: stream of %d frames over %v does not end with finish, usage, [DONE]: %v", model, n, took, frames[max(0, n-3):])
		}
		if took < 5*short {
			t.Fatalf("%s: the stream took %v; the test needs it to outlast the timeouts", model, took)
		}
	}
}

// TestSlowReaderIsLetGo: a client that stops reading a stream is bounded by
// the write timeout; the upstream request is closed.
func TestSlowReaderIsLetGo(t *testing.T) {
	upstreamClosed := make(chan struct{}, 1)
	ended := make(chan string, 1)
	up := gatewaytest.StartRaw(t, func(c net.Conn, br *bufio.Reader) {
		if gatewaytest.ReadRequest(br) == nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"" + strings.Repeat("x", 4000) + "\"}]}}]}\n\n"
		frame := fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)
		for {
			if _, err := io.WriteString(c, frame); err != nil {
				upstreamClosed <- struct{}{}
				return
			}
		}
	})
	env := gatewaytest.Start(t, gatewaytest.Options{GeminiURL: up.URL, OnStreamEnd: func(r string) { ended <- r },
		Limits: server.Limits{WriteTimeout: 200 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	body := chatReq(geminiModel, true)
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		gatewaytest.ClientKey, len(body), body)
	// The client never reads.
	select {
	case r := <-ended:
		if r != server.StreamClientGone {
			t.Errorf("a client that stopped reading: the stream ended %q", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a client that stopped reading holds its stream open")
	}
	select {
	case <-upstreamClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request stayed open")
	}
}

// TestUpstreamKeyNeverLeaks: an upstream that quotes the gateway's key in
// its error text, on every error path, buffered and streamed. The shared
// helpers fail the test if the key reaches an answer, a frame or the log.
func TestUpstreamKeyNeverLeaks(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	k := gatewaytest.UpstreamKey
	anth := func(typ string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"header x-api-key: ` + k + ` rejected"}}`
	}
	gem := func(code int, status string) string {
		return `{"error":{"code":` + strconv.Itoa(code) + `,"message":"request had x-goog-api-key=` + k + `","status":"` + status + `"}}`
	}
	cases := []struct {
		name  string
		push  func(emulator.Fault)
		model string
		fault emulator.Fault
		// unquoted: the gateway does not pass on a body that is not the
		// upstream's error object, so there is nothing to redact.
		unquoted bool
	}{
		{"anthropic 400", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 400, Body: anth("invalid_request_error")}, false},
		{"anthropic 404", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 404, Body: anth("not_found_error")}, false},
		{"anthropic 429", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 429, Body: anth("rate_limit_error")}, false},
		{"anthropic 500", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 500, Body: anth("api_error")}, false},
		{"anthropic 529", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 529, Body: anth("overloaded_error")}, false},
		{"anthropic non-JSON 502", env.Anthropic.Faults.Push, claudeModel, emulator.Fault{Status: 502, Body: "<html>proxy saw x-api-key " + k + "</html>"}, true},
		{"gemini 400", env.Gemini.Faults.Push, geminiModel, emulator.Fault{Status: 400, Body: gem(400, "INVALID_ARGUMENT")}, false},
		{"gemini 404", env.Gemini.Faults.Push, geminiModel, emulator.Fault{Status: 404, Body: gem(404, "NOT_FOUND")}, false},
		{"gemini 429", env.Gemini.Faults.Push, geminiModel, emulator.Fault{Status: 429, Body: gem(429, "RESOURCE_EXHAUSTED")}, false},
		{"gemini 503", env.Gemini.Faults.Push, geminiModel, emulator.Fault{Status: 503, Body: gem(503, "UNAVAILABLE")}, false},
	}
	for _, c := range cases {
		for _, stream := range []bool{false, true} {
			c.push(c.fault)
			r := env.Chat(t, chatReq(c.model, stream))
			if r.Status < 400 || !c.unquoted && !strings.Contains(string(r.Body), "[REDACTED]") {
				t.Errorf("%s (stream %v): status %d, want the upstream's message with the key redacted: %s", c.name, stream, r.Status, r.Body)
			}
		}
	}

	// An in-stream error event that quotes the key: after the stream's
	// first content, an error frame; before it, the request's answer.
	for _, events := range []int{3, 1} {
		up := gatewaytest.StartRaw(t, func(c net.Conn, br *bufio.Reader) {
			if gatewaytest.ReadRequest(br) == nil {
				return
			}
			answer(c, 200, "text/event-stream", strings.Join(strings.SplitAfter(anthropicSSE, "\n\n")[:events], "")+
				"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"overloaded; x-api-key="+k+"\"}}\n\n")
		})
		env2 := gatewaytest.Start(t, gatewaytest.Options{AnthropicURL: up.URL})
		if events == 1 {
			if r := env2.Chat(t, chatReq(claudeModel, true)); r.Status != 502 || !strings.Contains(string(r.Body), "[REDACTED]") {
				t.Errorf("an error event before any content: %d %s, want the answer with the key redacted", r.Status, r.Body)
			}
			continue
		}
		frames := gatewaytest.ReadFrames(t, env2.Stream(t, chatReq(claudeModel, true)).Body)
		if n := len(frames); n < 2 || frames[n-2].Chunk.Error == nil || !strings.Contains(frames[n-2].Chunk.Error.Message, "[REDACTED]") {
			t.Errorf("stream error event: want an error frame with the key redacted: %v", frames)
		}
	}
}

// TestStaleUpstreamConnection: an upstream (or a load balancer) that
// closes a connection once it is idle. The gateway's next request on that
// pooled connection goes again on a new one, buffered and streamed, on
// both providers; requests whose answer began, or that failed on a fresh
// connection, are never sent twice.
func TestStaleUpstreamConnection(t *testing.T) {
	closed := make(chan struct{}, 1)
	env, up := rawEnv(t, server.Limits{}, func(c net.Conn, br *bufio.Reader) {
		req := gatewaytest.ReadRequest(br)
		if req == nil {
			return
		}
		nativeAnswer(c, req)
		// Closed right after the answer: the gateway pooled a connection
		// that is already dead.
		c.Close()
		closed <- struct{}{}
	})
	n := 0
	for _, model := range []string{claudeModel, geminiModel} {
		for _, stream := range []bool{false, true} {
			for i := range 3 {
				r := env.Chat(t, chatReq(model, stream))
				if r.Status != 200 {
					t.Fatalf("%s stream=%v request %d: status %d: %s", model, stream, i, r.Status, r.Body)
				}
				<-closed
				n++
			}
		}
	}
	// Each request after the first met the dead pooled connection, then
	// went on a new one.
	if up.Accepted() != n {
		t.Errorf("%d requests took %d connections", n, up.Accepted())
	}
}

// TestNoRetryOnceAnAnswerBegan: a reused connection cut after the first
// bytes of an answer, and a fresh connection closed without an answer, are
// 503s, each after exactly one attempt.
func TestNoRetryOnceAnAnswerBegan(t *testing.T) {
	requests := make(chan struct{}, 16)
	env, up := rawEnv(t, server.Limits{}, func(c net.Conn, br *bufio.Reader) {
		for n := 0; ; n++ {
			req := gatewaytest.ReadRequest(br)
			if req == nil {
				return
			}
			requests <- struct{}{}
			if n == 0 {
				nativeAnswer(c, req)
				continue
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le")
			return
		}
	})
	if r := env.Chat(t, chatReq(claudeModel, false)); r.Status != 200 {
		t.Fatalf("first request: %d %s", r.Status, r.Body)
	}
	<-requests
	expectError(t, "answer cut after its first bytes", env.Chat(t, chatReq(claudeModel, false)), 503, "upstream_error", "no_supplier", nil)
	<-requests
	if len(requests) != 0 || up.Accepted() != 1 {
		t.Errorf("a request whose answer began was sent again: %d more requests, %d connections", len(requests), up.Accepted())
	}

	fresh, freshUp := rawEnv(t, server.Limits{}, func(c net.Conn, br *bufio.Reader) {
		if gatewaytest.ReadRequest(br) != nil {
			requests <- struct{}{}
		}
	})
	expectError(t, "fresh connection closed", fresh.Chat(t, chatReq(geminiModel, false)), 503, "upstream_error", "no_supplier", nil)
	<-requests
	if len(requests) != 0 || freshUp.Accepted() != 1 {
		t.Errorf("a request that failed on a fresh connection was sent again")
	}
}

// TestUpstreamAnswerLimits: a buffered answer over the limit (announced or
// chunked), an SSE line over the limit, and an answer head over the limit.
func TestUpstreamAnswerLimits(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	env, _ := rawEnv(t, server.Limits{MaxResponseBytes: 64 << 10, MaxSSELineBytes: 32 << 10, MaxUpstreamHeaderBytes: 16 << 10},
		func(c net.Conn, br *bufio.Reader) {
			req := gatewaytest.ReadRequest(br)
			if req == nil {
				return
			}
			switch msg := readBody(req); {
			case strings.Contains(msg, "announced"):
				answer(c, 200, "application/json", `{"content":[{"type":"text","text":"`+big+`"}]}`)
			case strings.Contains(msg, "chunked"):
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
				for range 50 {
					_, _ = fmt.Fprintf(c, "%x\r\n%s\r\n", 8<<10, big[:8<<10])
				}
				_, _ = io.WriteString(c, "0\r\n\r\n")
			case strings.Contains(msg, "long line first"):
				answer(c, 200, "text/event-stream", strings.SplitAfter(anthropicSSE, "\n\n")[0]+"event: ping\ndata: {\"pad\":\""+big+"\"}\n\n")
			case strings.Contains(msg, "long line"):
				answer(c, 200, "text/event-stream", strings.Join(strings.SplitAfter(anthropicSSE, "\n\n")[:3], "")+"event: ping\ndata: {\"pad\":\""+big+"\"}\n\n")
			case strings.Contains(msg, "big head"):
				answer(c, 200, "application/json", anthropicAnswer, "X-Pad: "+big[:40<<10])
			case strings.Contains(msg, "6k head"):
				answer(c, 200, "application/json", anthropicAnswer, "X-Pad: "+big[:6<<10])
			}
		})
	ask := func(text string, stream bool) *gatewaytest.Response {
		return env.Chat(t, `{"model":"`+claudeModel+`","stream":`+strconv.FormatBool(stream)+`,"messages":[{"role":"user","content":"`+text+`"}]}`)
	}
	for _, text := range []string{"announced", "chunked"} {
		r := ask(text, false)
		expectError(t, text+" answer over the limit", r, 502, "upstream_error", "upstream_error", nil)
		if !strings.Contains(string(r.Body), "larger than the gateway's limit") {
			t.Errorf("%s: %s", text, r.Body)
		}
	}
	r := ask("big head", false)
	expectError(t, "head over the limit", r, 502, "upstream_error", "upstream_error", nil)
	if !strings.Contains(string(r.Body), "headers are larger") {
		t.Errorf("big head: %s", r.Body)
	}
	if r := ask("6k head", false); r.Status != 200 {
		t.Errorf("an answer with 6 KB of headers: %d %s", r.Status, r.Body)
	}
	frames := gatewaytest.ReadFrames(t, env.Stream(t, `{"model":"`+claudeModel+`","stream":true,"messages":[{"role":"user","content":"long line"}]}`).Body)
	if n := len(frames); n < 2 || !frames[n-1].Done || frames[n-2].Chunk.Error == nil || !strings.Contains(frames[n-2].Chunk.Error.Message, "longer than") {
		t.Errorf("an SSE line over the limit: want an error frame and [DONE]: %v", frames)
	}
	// Before the stream's first content, the same is the request's answer.
	if r := ask("long line first", true); r.Status != 502 || !strings.Contains(string(r.Body), "longer than") {
		t.Errorf("an SSE line over the limit before any content: %d %s", r.Status, r.Body)
	}
}

// TestWrongShapeIs502: valid JSON that is not an answer must not pass for
// an empty success or a safety block.
func TestWrongShapeIs502(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, c := range []struct {
		name, model, body string
		push              func(emulator.Fault)
	}{
		{"anthropic unexpected", claudeModel, `{"unexpected":true}`, env.Anthropic.Faults.Push},
		{"anthropic no stop_reason", claudeModel, `{"content":[]}`, env.Anthropic.Faults.Push},
		{"gemini unexpected", geminiModel, `{"unexpected":true}`, env.Gemini.Faults.Push},
		{"gemini empty", geminiModel, `{}`, env.Gemini.Faults.Push},
	} {
		c.push(emulator.Fault{Status: 200, Body: c.body})
		expectError(t, c.name, env.Chat(t, chatReq(c.model, false)), 502, "upstream_error", "upstream_error", nil)
	}
	env.Gemini.Faults.Push(emulator.Fault{Status: 200, Body: `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}`})
	if r := env.Chat(t, chatReq(geminiModel, false)); r.Status != 200 || !strings.Contains(string(r.Body), `"finish_reason":"content_filter"`) {
		t.Errorf("a blocked prompt is an answer: %d %s", r.Status, r.Body)
	}
}

// TestOverLimitBodyGets413: on fresh connections, a client that sends a
// whole over-limit body reads the 413, never a reset.
func TestOverLimitBodyGets413(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{MaxBodyBytes: 64 << 10}})
	body := `{"model":"` + claudeModel + `","messages":[{"role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}]}`
	for i := range 20 {
		r := sendWhole(t, env, i, "Content-Type: application/json\r\n", body)
		expectError(t, "over the limit", r, 413, "invalid_request_error", "request_too_large", nil)
	}
}

// TestOverLimitHeadGets431: on fresh connections, a client that sends a
// head over the limit, then its body, reads the 431, never a reset.
func TestOverLimitHeadGets431(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	body := chatReq(claudeModel, false) + strings.Repeat(" ", 8<<20) // more than the sockets buffer
	pad := "X-Pad: " + strings.Repeat("p", 20<<10) + "\r\n"
	for i := range 20 {
		r := sendWhole(t, env, i, pad, body)
		expectError(t, "a head over the limit", r, 431, "invalid_request_error", "headers_too_large", nil)
	}
}

// sendWhole sends a chat request with extra header lines on a fresh
// connection, writing all of it while it reads the answer, as a client
// that does not look before it has sent would; the answer must arrive,
// and the sending must not be cut by a reset.
func sendWhole(t *testing.T, env *gatewaytest.Env, attempt int, header, body string) *gatewaytest.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent := make(chan error, 1)
	go func() {
		_, err := fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n%sContent-Length: %d\r\n\r\n%s",
			gatewaytest.ClientKey, header, len(body), body)
		sent <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		<-sent
		t.Fatalf("attempt %d: the answer was lost: %v", attempt, err)
	}
	r := gatewaytest.ReadResponse(t, resp)
	if err := <-sent; err != nil {
		t.Errorf("attempt %d: the client could not finish sending: %v", attempt, err)
	}
	return r
}

// TestAbandonedRequestCancelsUpstream: a client that leaves while its
// buffered request is upstream closes the upstream request at once.
func TestAbandonedRequestCancelsUpstream(t *testing.T) {
	arrived, upstreamClosed := make(chan struct{}, 1), make(chan struct{}, 1)
	env, _ := rawEnv(t, server.Limits{UpstreamTimeout: time.Minute}, func(c net.Conn, br *bufio.Reader) {
		if gatewaytest.ReadRequest(br) == nil {
			return
		}
		arrived <- struct{}{}
		_, _ = br.ReadByte() // returns when the gateway closes the connection
		upstreamClosed <- struct{}{}
	})
	for _, model := range []string{claudeModel, geminiModel} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		body := chatReq(model, false)
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			gatewaytest.ClientKey, len(body), body)
		<-arrived
		conn.Close()
		select {
		case <-upstreamClosed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the upstream request outlived its client", model)
		}
	}
}

// TestHeaderLimits: 8 KB of client headers are served, 20 KB answer 431.
func TestHeaderLimits(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	do := func(pad int) *gatewaytest.Response {
		req, _ := http.NewRequest("POST", env.URL+"/v1/chat/completions", strings.NewReader(chatReq(claudeModel, false)))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		req.Header.Set("X-Pad", strings.Repeat("p", pad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return gatewaytest.ReadResponse(t, resp)
	}
	if r := do(8 << 10); r.Status != 200 {
		t.Errorf("8 KB of headers: %d %s", r.Status, r.Body)
	}
	expectError(t, "20 KB of headers", do(20<<10), 431, "invalid_request_error", "headers_too_large", nil)
}

// TestRedirectsAndRetryAfter: an upstream 3xx is a 502; Retry-After on a
// 503 or 529 is passed on; Gemini's RetryInfo becomes Retry-After.
func TestRedirectsAndRetryAfter(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Anthropic.Faults.Push(emulator.Fault{Status: 301, Body: "", Header: map[string]string{"Location": "https://elsewhere.example/v1/messages"}})
	r := env.Chat(t, chatReq(claudeModel, false))
	expectError(t, "upstream 301", r, 502, "upstream_error", "upstream_error", nil)
	if r.Header.Get("Location") != "" {
		t.Errorf("a redirect's Location reached the client")
	}
	for _, status := range []int{503, 529} {
		env.Anthropic.Faults.Push(emulator.Fault{Status: status, Body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			Header: map[string]string{"retry-after": "7"}})
		r := env.Chat(t, chatReq(claudeModel, false))
		expectError(t, "upstream "+strconv.Itoa(status), r, 503, "upstream_error", "no_supplier", nil)
		if got := r.Header.Get("Retry-After"); got != "7" {
			t.Errorf("upstream %d: Retry-After %q, want 7", status, got)
		}
	}
	env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: `{"error":{"code":429,"message":"You exceeded your current quota. Please retry in 1.5s.","status":"RESOURCE_EXHAUSTED",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`})
	r = env.Chat(t, chatReq(geminiModel, false))
	expectError(t, "gemini 429", r, 429, "upstream_error", "upstream_error", nil)
	if got := r.Header.Get("Retry-After"); got != "2" {
		t.Errorf("gemini RetryInfo 1.5s: Retry-After %q, want 2", got)
	}
}

// TestAuthorizationHeader: the scheme is case-insensitive; two headers are
// refused.
func TestAuthorizationHeader(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	do := func(values ...string) *gatewaytest.Response {
		req, _ := http.NewRequest("POST", env.URL+"/v1/chat/completions", strings.NewReader(chatReq(claudeModel, false)))
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return gatewaytest.ReadResponse(t, resp)
	}
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		if r := do(scheme + " " + gatewaytest.ClientKey); r.Status != 200 {
			t.Errorf("%s: %d %s", scheme, r.Status, r.Body)
		}
	}
	expectError(t, "Basic scheme", do("Basic "+gatewaytest.ClientKey), 401, "authentication_error", "missing_auth", nil)
	expectError(t, "two headers", do("Bearer "+gatewaytest.ClientKey, "Bearer sk-optk-second-key"), 400, "invalid_request_error", nil, nil)
}

// TestSlowHeadGets408: a client that trickles its head is answered 408
// after the head timeout.
func TestSlowHeadGets408(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Limits: server.Limits{HeaderTimeout: 300 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow head: %v", err)
	}
	expectError(t, "slow head", gatewaytest.ReadResponse(t, resp), 408, "invalid_request_error", "request_timeout", nil)
}

// TestStopLimits: Gemini takes 5 stop sequences, Anthropic any number.
func TestStopLimits(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	if r := env.Chat(t, `{"model":"`+geminiModel+`",`+okMessages+`,"stop":["a","b","c","d","e"]}`); r.Status != 200 {
		t.Errorf("5 stops on Gemini: %d %s", r.Status, r.Body)
	} else if last, _ := env.Gemini.Requests.Last(); !strings.Contains(string(last.Body), `"stopSequences":["a","b","c","d","e"]`) {
		t.Errorf("5 stops on Gemini: sent %s", last.Body)
	}
	if r := env.Chat(t, `{"model":"`+claudeModel+`",`+okMessages+`,"stop":["a","b","c","d","e","f","g"]}`); r.Status != 200 {
		t.Errorf("7 stops on Claude: %d %s", r.Status, r.Body)
	} else if last, _ := env.Anthropic.Requests.Last(); !strings.Contains(string(last.Body), `"stop_sequences":["a","b","c","d","e","f","g"]`) {
		t.Errorf("7 stops on Claude: sent %s", last.Body)
	}
}

// TestStreamAnsweredWithoutEventStream: a streamed request answered 200
// with a body that is not an event stream (a proxy's HTML page, kept open)
// is a 502 upstream_error at once, not a 504 after the idle timeout.
func TestStreamAnsweredWithoutEventStream(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	env, _ := rawEnv(t, server.Limits{StreamIdleTimeout: time.Minute, UpstreamTimeout: time.Minute}, func(c net.Conn, br *bufio.Reader) {
		if gatewaytest.ReadRequest(br) == nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>Bad gateway</body>")
		<-release // the page never ends
	})
	for _, model := range []string{claudeModel, geminiModel} {
		r := env.Chat(t, `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if r.Status != 502 || !strings.Contains(string(r.Body), `"code":"upstream_error"`) || !strings.Contains(string(r.Body), `text/html`) {
			t.Errorf("%s: %d %s", model, r.Status, r.Body)
		}
	}
}
