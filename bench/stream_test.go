// Benchmarks of streaming: the translation of one upstream event into a
// chat.completion.chunk frame (per provider), and a load check of many
// concurrent streams through the gateway to the emulators on loopback.
//
//	go test ./bench -run '^$' -bench 'StreamEvent|ConcurrentStreams' -benchmem -count 5
package bench

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

var streamEvents = []struct {
	name, id string
	adapter  adapter.Adapter
	event    string
	data     string
}{
	{"claude-text-delta", "anthropic/claude-sonnet-4-5", adapter.Anthropic{}, "content_block_delta",
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" could you share an updated ETA"}}`},
	{"gemini-chunk", "google/gemini-2.5-pro", adapter.Gemini{}, "",
		`{"candidates":[{"content":{"role":"model","parts":[{"text":" could you share an updated ETA"}]},"index":0}],"usageMetadata":{"promptTokenCount":212,"candidatesTokenCount":7,"totalTokenCount":219},"modelVersion":"gemini-2.5-pro","responseId":"abc"}`},
}

func BenchmarkStreamEvent(b *testing.B) {
	for _, ev := range streamEvents {
		b.Run(ev.name, func(b *testing.B) {
			call := &adapter.Call{Model: generated.Lookup(ev.id), Req: &llm.Request{}}
			prefix := openai.NewChunkPrefix(nil, "chatcmpl-0123456789abcdef01234567", 1730000000, ev.id)
			st := ev.adapter.NewStream(call, &openai.ChunkWriter{Prefix: prefix, Exclude: call.Thinking.Exclude, Legacy: call.Legacy()})
			name, data := []byte(ev.event), []byte(ev.data)
			out := make([]byte, 0, 1024)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var err *llm.Error
				if out, err = st.Event(out[:0], name, data); err != nil || len(out) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConcurrentStreams keeps 64 streams in flight through the gateway;
// one op is one whole stream (role, ~35 deltas, finish, usage, [DONE]).
func BenchmarkConcurrentStreams(b *testing.B) {
	env := gatewaytest.Start(b, gatewaytest.Options{})
	body := `{"model":"google/gemini-3-flash","stream":true,"messages":[{"role":"user","content":"` +
		strings.Repeat("word ", 40) + `"}]}`
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	b.ReportAllocs()
	b.SetParallelism(32) // 32 × GOMAXPROCS(2) = 64 concurrent streams
	var mu sync.Mutex
	frames := 0
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			req, _ := http.NewRequest("POST", env.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if strings.HasPrefix(line, "data: ") {
					n++
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Error(err)
					break
				}
			}
			resp.Body.Close()
		}
		mu.Lock()
		frames += n
		mu.Unlock()
	})
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
	client.CloseIdleConnections()
}

// BenchmarkStreamTTFB measures the time to the first piece of answer text,
// straight from the Gemini emulator and through the gateway, side by side,
// with the emulator pacing its events 2 ms apart as a model would. One op
// is one request up to its first text.
func BenchmarkStreamTTFB(b *testing.B) {
	env := gatewaytest.Start(b, gatewaytest.Options{})
	env.Gemini.Stream.Delay = 2 * time.Millisecond
	client := &http.Client{}
	firstText := func(b *testing.B, url string, header map[string]string, body string, marker string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if strings.Contains(line, marker) {
				break
			}
			if err != nil {
				b.Fatalf("no text in the stream: %v", err)
			}
		}
		resp.Body.Close() // the rest of the stream is not measured
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			firstText(b, env.GeminiURL+"/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse",
				map[string]string{"x-goog-api-key": gatewaytest.UpstreamKey},
				`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, `"text"`)
		}
	})
	b.Run("gateway", func(b *testing.B) {
		for b.Loop() {
			firstText(b, env.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + gatewaytest.ClientKey},
				`{"model":"google/gemini-3-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"content"`)
		}
	})
	client.CloseIdleConnections()
}
