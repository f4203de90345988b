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
		agreeUpstream(t, text, readGeminiResponse)
		agreeUpstream(t, text, readGeminiChunk)
	})
}

// The readers must take what Gemini sends, not leave it all to goccy/go-json.
func TestGeminiReadersTakeTheGoldens(t *testing.T) {
	answers, events := upstreamGoldens(t, "gemini")
	for _, b := range answers {
		if !agreeUpstream(t, b, readGeminiResponse) {
			t.Errorf("readGeminiResponse does not take %s", b)
		}
	}
	for _, b := range events {
		if !agreeUpstream(t, b, readGeminiChunk) {
			t.Errorf("readGeminiChunk does not take %s", b)
		}
	}
}
