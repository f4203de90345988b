package gatewaytest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Frame is one data: frame of a gateway stream; Done marks data: [DONE].
type Frame struct {
	Raw  string
	Done bool
	// Chunk is the decoded frame, unless Done.
	Chunk Chunk
}

// Chunk is a chat.completion.chunk, or an error frame.
type Chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int                        `json:"index"`
		Delta        map[string]json.RawMessage `json:"delta"`
		FinishReason *string                    `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens            int64 `json:"prompt_tokens"`
		CompletionTokens        int64 `json:"completion_tokens"`
		TotalTokens             int64 `json:"total_tokens"`
		CompletionTokensDetails struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// Stream posts a streaming chat request and returns the response, with its
// body open for ReadFrames.
func (e *Env) Stream(t testing.TB, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ClientKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// ReadFrames reads every frame until the body ends, checking the SSE
// framing: each event is one data: line followed by a blank line.
func ReadFrames(t testing.TB, body io.Reader) []Frame {
	t.Helper()
	var frames []Frame
	br := bufio.NewReader(body)
	for {
		line, err := br.ReadString('\n')
		NoSecret(t, "a stream frame", line)
		if err == io.EOF && line == "" {
			return frames
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
		if !ok {
			t.Fatalf("not a data: line: %q", line)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
			t.Fatalf("frame %q is not followed by a blank line (%q, %v)", data, blank, err)
		}
		f := Frame{Raw: data, Done: data == "[DONE]"}
		if !f.Done {
			if err := json.Unmarshal([]byte(data), &f.Chunk); err != nil {
				t.Fatalf("frame is not JSON: %q", data)
			}
		}
		frames = append(frames, f)
	}
}
