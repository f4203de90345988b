package adapter

import (
	json "github.com/goccy/go-json"

	"github.com/opentoken/opentoken/server/openai"
)

// geminiStream translates streamGenerateContent?alt=sse: every event is a
// partial GenerateContentResponse with text increments, thought parts,
// cumulative usageMetadata, and finishReason on the last one. The stream
// ends when the connection does.
type geminiStream struct{ streamState }

// NewStream implements Adapter.
func (Gemini) NewStream(c *Call, prefix openai.ChunkPrefix) Stream {
	return &geminiStream{newStreamState(c, prefix)}
}

type geminiStreamChunk struct {
	geminiResponse
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (s *geminiStream) Event(dst []byte, _, data []byte) ([]byte, *openai.Error) {
	var ch geminiStreamChunk
	if err := json.UnmarshalWithOption(data, &ch, json.DecodeNoCopyString()); err != nil {
		return dst, errMalformedEvent
	}
	if ch.Error != nil {
		return dst, streamError("gemini: " + ch.Error.Message)
	}
	if len(ch.Candidates) > 0 {
		cand := &ch.Candidates[0]
		for _, p := range cand.Content.Parts {
			if p.Thought {
				dst = s.thought(dst, p.Text)
			} else {
				dst = s.content(dst, p.Text)
			}
		}
		if cand.FinishReason != "" {
			s.finish = geminiFinish(cand.FinishReason)
		}
	} else if ch.PromptFeedback.BlockReason != "" {
		s.finish = openai.FinishContentFilter
	}
	if u := &ch.UsageMetadata; u.PromptTokenCount > 0 {
		s.usage = openai.Usage{
			Prompt:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
			Cached:     u.CachedContentTokenCount,
			Completion: u.CandidatesTokenCount + u.ThoughtsTokenCount,
			Reasoning:  u.ThoughtsTokenCount,
		}
	}
	return dst, nil
}

// Done is false: Gemini says nothing after its last chunk but closes.
func (s *geminiStream) Done() bool { return false }

func (s *geminiStream) End(dst []byte) ([]byte, *openai.Error) {
	if s.finish == "" {
		return dst, streamError("gemini: the stream ended before a finishReason")
	}
	return s.end(dst), nil
}
