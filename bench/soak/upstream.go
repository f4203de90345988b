package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// upstream answers as Anthropic or Gemini would, by the request's path,
// with a behaviour chosen by a marker in the prompt:
//
//	#err429   429 with Retry-After (Anthropic) or RetryInfo (Gemini)
//	#err503   503 overloaded
//	#hold     a buffered answer after 2 s (the client leaves before it)
//	#slow     a stream of 50 events 20 ms apart
//	#long=D   a stream with a delta every 500 ms for the duration D
//
// and otherwise a short answer, buffered or streamed. Its server closes
// idle connections after one second, so that every pause in the traffic
// leaves the gateway's pooled connections stale, as a load balancer would.
type upstream struct{}

var longMarker = regexp.MustCompile(`#long=([0-9a-z.]+)`)

const idleClose = time.Second

func (upstream) handle(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	path := string(ctx.Path())
	gemini := strings.Contains(path, ":")
	streamed := strings.Contains(path, "streamGenerateContent") || bytes.Contains(body, []byte(`"stream":true`))
	switch {
	case bytes.Contains(body, []byte("#err429")):
		if gemini {
			errorAnswer(ctx, 429, `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]}}`)
			return
		}
		ctx.Response.Header.Set("retry-after", "3")
		errorAnswer(ctx, 429, `{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}`)
		return
	case bytes.Contains(body, []byte("#err503")):
		if gemini {
			errorAnswer(ctx, 503, `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`)
			return
		}
		errorAnswer(ctx, 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
		return
	case bytes.Contains(body, []byte("#hold")):
		time.Sleep(2 * time.Second) // a slow model; the client leaves first
	}
	events, pace := 3, time.Duration(0)
	if bytes.Contains(body, []byte("#slow")) {
		events, pace = 50, 20*time.Millisecond
	}
	if m := longMarker.FindSubmatch(body); m != nil {
		d, _ := time.ParseDuration(string(m[1]))
		events, pace = int(d/(500*time.Millisecond))+1, 500*time.Millisecond // d between the first and the last
	}
	if !streamed {
		ctx.SetContentType("application/json")
		if gemini {
			ctx.SetBodyString(`{"candidates":[{"content":{"parts":[{"text":"a soak answer"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8}}`)
		} else {
			ctx.SetBodyString(`{"id":"msg_soak","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"a soak answer"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":3}}`)
		}
		return
	}
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		event := func(name, data string) bool {
			if name != "" {
				fmt.Fprintf(w, "event: %s\n", name)
			}
			fmt.Fprintf(w, "data: %s\n\n", data)
			return w.Flush() == nil
		}
		if !gemini && !event("message_start", `{"type":"message_start","message":{"id":"msg_soak","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`) {
			return
		}
		if !gemini {
			event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		}
		for i := range events {
			if i > 0 {
				time.Sleep(pace)
			}
			ok := false
			if gemini {
				ok = event("", `{"candidates":[{"content":{"parts":[{"text":"word "}],"role":"model"},"index":0}]}`)
			} else {
				ok = event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}`)
			}
			if !ok {
				return // the gateway closed the stream
			}
		}
		if gemini {
			event("", `{"candidates":[{"content":{"parts":[{"text":"end"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":`+fmt.Sprint(events+1)+`}}`)
			return
		}
		event("content_block_stop", `{"type":"content_block_stop","index":0}`)
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`+fmt.Sprint(events)+`}}`)
		event("message_stop", `{"type":"message_stop"}`)
	})
}

func errorAnswer(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(body)
}
