package gatewaytest

import (
	"bufio"
	"encoding/json"
	"fmt"
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
// body open for ReadFrames. Call it on the test's goroutine; elsewhere use
// PostStream.
func (e *Env) Stream(t testing.TB, body string) *http.Response {
	t.Helper()
	resp, err := e.PostStream(body)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// PostStream posts a streaming chat request; the caller closes the body.
// It fails no test, so any goroutine may call it.
func (e *Env) PostStream(body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, e.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+ClientKey)
	return http.DefaultClient.Do(req)
}

// ReadFrames reads every frame until the body ends, checking the SSE
// framing: each event is one data: line followed by a blank line. Call it
// on the test's goroutine; elsewhere use ParseFrames.
func ReadFrames(t testing.TB, body io.Reader) []Frame {
	t.Helper()
	frames, err := ParseFrames(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		NoSecret(t, "a stream frame", f.Raw)
	}
	return frames
}

// ParseFrames is ReadFrames without a test: it returns the first problem.
func ParseFrames(body io.Reader) ([]Frame, error) {
	var frames []Frame
	br := bufio.NewReader(body)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF && line == "" {
			return frames, nil
		}
		if err != nil {
			return frames, fmt.Errorf("reading the stream: %w", err)
		}
		data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
		if !ok {
			return frames, fmt.Errorf("not a data: line: %q", line)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
			return frames, fmt.Errorf("frame %q is not followed by a blank line (%q, %v)", data, blank, err)
		}
		f := Frame{Raw: data, Done: data == "[DONE]"}
		if !f.Done {
			if err := json.Unmarshal([]byte(data), &f.Chunk); err != nil {
				return frames, fmt.Errorf("frame is not JSON: %q", data)
			}
		}
		frames = append(frames, f)
	}
}
