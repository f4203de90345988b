package adapter

import "testing"

var geminiTricky = []string{
	`{"candidates":[{"content":{"parts":[{"text":"hi"},{"text":"t","thought":true},{"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"sig"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7,"trafficType":"ON_DEMAND"},"modelVersion":"gemini-2.5-pro","responseId":"r"}`,
	`{"candidates":[{"content":{"parts":[{"functionCall":null}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"thought":null,"text":null}]}}]}`,
	`{"candidates":[],"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]}}`,
	`{"candidates":[{"Content":{}}]}`,
	`{"usageMetadata":{"promptTokenCount":1.0}}`,
	`{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}`,
	`{"error":null,"candidates":null}`,
}

// FuzzGeminiReaders holds the one-pass readers of Gemini's answers and
// chunks to goccy/go-json: the same texts taken, to the same values.
func FuzzGeminiReaders(f *testing.F) {
	answers, events := upstreamGoldens(f, "gemini")
	for _, b := range append(answers, events...) {
		f.Add(b)
	}
	for _, s := range geminiTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		agreeUpstream(t, text, readResponse)
		agreeUpstream(t, text, readChunk)
		agreeUpstream(t, text, readChunkAfterAnother(t))
	})
}

// readResponse and readChunk read with a scratch of their own, as
// ParseResponse and a stream's first chunk do.
func readResponse(text []byte, resp *geminiResponse) bool {
	return readGeminiResponse(text, resp, new(geminiScratch))
}

func readChunk(text []byte, ch *geminiStreamChunk) bool {
	return readGeminiChunk(text, ch, new(geminiScratch))
}

// readChunkAfterAnother reads with the scratch a stream has after a chunk
// of two candidates of several parts each: a reused scratch must read to
// the same values as a new one.
func readChunkAfterAnother(t *testing.T) func([]byte, *geminiStreamChunk) bool {
	var scratch geminiScratch
	var before geminiStreamChunk
	if !readGeminiChunk([]byte(`{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b","thought":true},{"text":"c"}]},"finishReason":"STOP"},{"content":{"parts":[{"text":"d"},{"functionCall":{"name":"f"}}]}}]}`), &before, &scratch) {
		t.Fatal("the chunk read first is refused")
	}
	return func(text []byte, ch *geminiStreamChunk) bool { return readGeminiChunk(text, ch, &scratch) }
}

// The readers must take what Gemini sends, not leave it all to goccy/go-json.
func TestGeminiReadersTakeTheGoldens(t *testing.T) {
	answers, events := upstreamGoldens(t, "gemini")
	for _, b := range answers {
		if !agreeUpstream(t, b, readResponse) {
			t.Errorf("readGeminiResponse does not take %s", b)
		}
	}
	for _, b := range events {
		if !agreeUpstream(t, b, readChunk) || !agreeUpstream(t, b, readChunkAfterAnother(t)) {
			t.Errorf("readGeminiChunk does not take %s", b)
		}
	}
}
