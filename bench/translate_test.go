// Benchmarks of the gateway's translation stages, each beside a baseline:
// request = decode + validate + filter + encode the upstream body of a ~1 KB
// request carrying the whole sampling superset; response = parse an upstream
// answer + write the chat.completion. The baseline does the request stage the
// common way, with encoding/json and map[string]any.
//
//	go test ./bench -run '^$' -bench 'Translation' -benchmem -count 5
package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// The upstream answers are the adapter's wire goldens, so that what is
// measured is what the golden tests check.
var models = []struct {
	name, id string
	adapter  adapter.Adapter
	response []byte
}{
	{"claude", "anthropic/claude-sonnet-4-5", adapter.Anthropic{}, golden("anthropic/text/upstream_response.json")},
	{"gemini", "google/gemini-2.5-pro", adapter.Gemini{}, golden("gemini/text/upstream_response.json")},
}

// golden reads a file of the adapter's wire goldens.
func golden(path string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "server", "adapter", "testdata", path))
	if err != nil {
		panic(err)
	}
	return b
}

var sinkBytes []byte

// translateRequest is the gateway's request path up to the bytes it sends.
// plainCall is the call of the load test's plain request to model id.
func plainCall(id string) *adapter.Call {
	var chat llm.Request
	if err := openai.DecodeChat(loadtest.GatewayRequest(id), &chat); err != nil {
		panic(err.Message)
	}
	call, err := adapter.NewCall(&chat, generated.Lookup(chat.Model))
	if err != nil {
		panic(err.Message)
	}
	return call
}

// benchUpstream is where translateRequest's requests go: like a supplier's
// settings in the server, made once, not per request.
var benchUpstream = adapter.Upstream{BaseURL: "http://127.0.0.1:1", APIKey: "k"}

func translateRequest(body []byte, ad adapter.Adapter, req *fasthttp.Request, buf []byte) []byte {
	var chat llm.Request
	if err := openai.DecodeChat(body, &chat); err != nil {
		panic(err.Message)
	}
	call, err := adapter.NewCall(&chat, generated.Lookup(chat.Model))
	if err != nil {
		panic(err.Message)
	}
	out, err := ad.BuildRequest(req, buf[:0], call, &benchUpstream)
	if err != nil {
		panic(err.Message)
	}
	return out
}

func BenchmarkRequestTranslation(b *testing.B) {
	for _, m := range models {
		body := loadtest.GatewayRequest(m.id)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var req fasthttp.Request
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				sinkBytes = translateRequest(body, m.adapter, &req, buf)
			}
		})
	}
	b.Run("baseline-encoding-json-map", func(b *testing.B) {
		body := loadtest.GatewayRequest("anthropic/claude-sonnet-4-5")
		keep := map[string]string{"model": "model", "messages": "messages", "temperature": "temperature", "top_k": "top_k", "max_tokens": "max_tokens", "stop": "stop_sequences"}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var in map[string]any
			if err := json.Unmarshal(body, &in); err != nil {
				b.Fatal(err)
			}
			out := make(map[string]any, len(keep))
			for k, v := range in {
				if name, ok := keep[k]; ok {
					out[name] = v
				}
			}
			sinkBytes, _ = json.Marshal(out)
		}
	})
}

func BenchmarkResponseTranslation(b *testing.B) {
	for _, m := range models {
		upstream, call := m.response, plainCall(m.id)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(upstream)))
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				var c llm.Completion
				if err := m.adapter.ParseResponse(call, upstream, &c); err != nil {
					b.Fatal(err)
				}
				sinkBytes = openai.AppendCompletion(buf[:0], "chatcmpl-0123456789abcdef01234567", 1730000000, m.id, &c, true)
			}
		})
	}
}
