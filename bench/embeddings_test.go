// Benchmarks of the embeddings path: translating a request of 100 inputs
// into Gemini's batch, and its answer of 100 vectors of 768 dimensions
// into OpenAI's list, as floats and as base64.
//
//	go test ./bench -run '^$' -bench 'Embeddings' -benchmem -count 5
package bench

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

func embeddingsRequest() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"google/gemini-embedding-001","dimensions":768,"task_type":"RETRIEVAL_DOCUMENT","input":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"Invoice ` + strconv.Itoa(i) + `: 12 pallets of ceramic tiles, delivered to the Hamburg warehouse on 3 March."`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func embeddingsAnswer() []byte {
	var b strings.Builder
	b.WriteString(`{"embeddings":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"values":[`)
		for j := range 768 {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64((i*768+j)%997)/997-0.5, 'g', 8, 32))
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkEmbeddingsRequest(b *testing.B) {
	body := embeddingsRequest()
	m := generated.Lookup("google/gemini-embedding-001")
	var req fasthttp.Request
	buf := make([]byte, 0, 32768)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var er llm.EmbeddingsRequest
		if e := openai.DecodeEmbeddings(body, &er); e != nil {
			b.Fatal(e.Message)
		}
		call, e := adapter.NewEmbedCall(&er, m)
		if e != nil {
			b.Fatal(e.Message)
		}
		sinkBytes, _ = adapter.Gemini{}.BuildEmbed(&req, buf[:0], call, er.Inputs, &adapter.Upstream{BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	}
}

func BenchmarkEmbeddingsResponse(b *testing.B) {
	answer := embeddingsAnswer()
	for _, format := range []string{"float", "base64"} {
		b.Run(format, func(b *testing.B) {
			vectors := make([][]float32, 100)
			buf := make([]byte, 0, 1<<20)
			u := llm.Usage{Prompt: 2400}
			b.ReportAllocs()
			b.SetBytes(int64(len(answer)))
			for b.Loop() {
				if err := (adapter.Gemini{}).ParseEmbed(answer, vectors); err != nil {
					b.Fatal(err)
				}
				sinkBytes = openai.AppendEmbeddings(buf[:0], "google/gemini-embedding-001", vectors, format == "base64", &u)
			}
		})
	}
}

// BenchmarkPromptCacheKey is what a Gemini request with a cached prefix
// costs before its entry is found: the prefix's create body (a 40 KB system
// prompt) and its hash, the key of the lookup.
func BenchmarkPromptCacheKey(b *testing.B) {
	body := []byte(`{"model":"google/gemini-3-flash","messages":[{"role":"system","content":[{"type":"text","text":"` +
		strings.Repeat("house rules ", 3400) + `","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"hi"}]}`)
	var chat llm.Request
	if e := openai.DecodeChat(body, &chat); e != nil {
		b.Fatal(e.Message)
	}
	call, e := adapter.NewCall(&chat, generated.Lookup(chat.Model))
	if e != nil {
		b.Fatal(e.Message)
	}
	var req fasthttp.Request
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		p, ok := call.GeminiCachePrefix()
		out, n, e := adapter.Gemini{}.BuildCacheCreate(&req, buf[:0], call, p, &adapter.Upstream{BaseURL: "http://127.0.0.1:1", APIKey: "k"})
		if !ok || e != nil {
			b.Fatal(e)
		}
		sinkKey = sha256.Sum256(out[:n])
	}
}

var sinkKey [32]byte
