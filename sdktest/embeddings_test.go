package sdktest

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestOpenAIGoEmbeddings creates embeddings with openai-go for 1, 100, 101
// and 2048 inputs (one upstream call, exactly one batch, a batch and one,
// 21 batches): every vector comes back at its index, of the model's size,
// and the same text embeds alike wherever it sits.
func TestOpenAIGoEmbeddings(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	client := openaiClient(env, gatewaytest.ClientKey)
	ctx := context.Background()
	inputs := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "document number " + strconv.Itoa(i)
		}
		return out
	}
	single, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "google/gemini-embedding-001", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("document number 7")},
	})
	if err != nil || len(single.Data) != 1 || len(single.Data[0].Embedding) != 3072 || single.Usage.PromptTokens == 0 ||
		single.Usage.TotalTokens != single.Usage.PromptTokens || single.Model != "google/gemini-embedding-001" {
		t.Fatalf("one input: %v %+v", err, single.Usage)
	}
	for _, n := range []int{1, 100, 101, 2048} {
		before := env.Gemini.Requests.Count()
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "google/gemini-embedding-001", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs(n)},
			Dimensions: openai.Int(768),
		})
		if err != nil {
			t.Fatalf("%d inputs: %v", n, err)
		}
		if calls, want := env.Gemini.Requests.Count()-before, (n+99)/100; calls != want {
			t.Errorf("%d inputs: %d upstream calls, want %d", n, calls, want)
		}
		if len(resp.Data) != n {
			t.Fatalf("%d inputs: %d vectors", n, len(resp.Data))
		}
		for i, d := range resp.Data {
			if int(d.Index) != i || len(d.Embedding) != 768 {
				t.Fatalf("%d inputs: vector %d has index %d and %d dimensions", n, i, d.Index, len(d.Embedding))
			}
			var sum float64
			for _, f := range d.Embedding {
				sum += f * f
			}
			if math.Abs(sum-1) > 1e-3 {
				t.Fatalf("%d inputs: a cut vector is not of unit length (%v)", n, sum)
			}
		}
		if n > 7 {
			// The same text, alone or at index 7 of a batch: the same vector,
			// cut to 768 and normalised alike.
			cut, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model: "google/gemini-embedding-001", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("document number 7")},
				Dimensions: openai.Int(768),
			})
			if err != nil || math.Abs(cut.Data[0].Embedding[5]-resp.Data[7].Embedding[5]) > 1e-6 {
				t.Errorf("%d inputs: vector 7 differs from the same text alone: %v", n, err)
			}
		}
	}
}
