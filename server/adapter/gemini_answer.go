package adapter

import (
	"strings"

	"github.com/opentoken/opentoken/llm"

	"hash/fnv"
	"strconv"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
)

// A Gemini answer, whole or streamed, is parsed here into the neutral
// events of an answer. A stream's chunks have the shape of a whole answer, so
// one walk of a response serves both forms.

type geminiResponse struct {
	Candidates     []geminiCandidate `json:"candidates"`
	PromptFeedback struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata geminiUsage `json:"usageMetadata"`
}

type geminiCandidate struct {
	Content struct {
		Parts []geminiPart `json:"parts"`
	} `json:"content"`
	FinishReason string `json:"finishReason"`
}

type geminiPart struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought"`
	// Set only on parts that have them: a text part stays small.
	*GeminiCallFields
}

// geminiUsage is cumulative: each report replaces the one before.
type geminiUsage struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
	// TrafficType is the lane Vertex served (ON_DEMAND, ON_DEMAND_FLEX or
	// FLEX, …); absent on the Gemini API.
	TrafficType string `json:"trafficType"`
}

// GeminiCallFields are the fields of a Gemini part that function calls
// and signatures have. It is exported only because the JSON decoder cannot
// allocate an embedded pointer to an unexported type.
type GeminiCallFields struct {
	ThoughtSignature string      `json:"thoughtSignature"`
	FunctionCall     *geminiCall `json:"functionCall"`
}

type geminiCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// walk emits the parts of the first candidate and records its finish
// reason, a blocked prompt's, and the usage, when the response has them.
// A call's thought signature is returned only when signed.
func (r *geminiResponse) walk(a *answer, tools *llm.Tools, signed bool) {
	if len(r.Candidates) > 0 {
		cand := &r.Candidates[0]
		for _, p := range cand.Content.Parts {
			switch {
			case p.GeminiCallFields != nil && p.FunctionCall != nil:
				fc := p.FunctionCall
				id := fc.ID
				if id == "" {
					id = madeUpCallID(a.nCalls, fc)
				}
				sig := ""
				if signed {
					sig = p.ThoughtSignature
				}
				if sig != "" {
					a.detail(llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: sig, ID: id, Format: llm.FormatGoogle})
				}
				a.toolStart(id, openaiName(tools, fc.Name), sig)
				// Gemini sends each call whole: its arguments are one fragment.
				if len(fc.Args) == 0 {
					a.toolArgs("{}")
				} else {
					a.toolArgs(bytesconv.String(fc.Args))
				}
			case p.Thought:
				a.reasoning(p.Text)
			default:
				a.text(p.Text)
			}
		}
		if cand.FinishReason != "" {
			a.finish, a.finished = geminiFinish(cand.FinishReason), true
		}
	} else if r.PromptFeedback.BlockReason != "" {
		a.finish, a.finished = llm.FinishRefusal, true // a blocked prompt has no candidates
	}
	if u := &r.UsageMetadata; *u != (geminiUsage{}) {
		a.usage = llm.Usage{
			Prompt: u.PromptTokenCount + u.ToolUsePromptTokenCount,
			Cached: u.CachedContentTokenCount,
			// candidatesTokenCount excludes thoughts; OpenAI's completion
			// tokens include reasoning.
			Completion: u.CandidatesTokenCount + u.ThoughtsTokenCount,
			Reasoning:  u.ThoughtsTokenCount,
			// The lane served: as Vertex says, else as asked.
			Flex: strings.Contains(u.TrafficType, "FLEX") || u.TrafficType == "" && a.flexAsked,
		}
	}
}

// madeUpCallID names a call Gemini gave no id (Gemini 2.x): from its
// position, name and arguments, so that a buffered and a streamed answer
// name it alike.
func madeUpCallID(n int, fc *geminiCall) string {
	h := fnv.New64a()
	h.Write([]byte(fc.Name))
	h.Write(fc.Args)
	return madeUpGeminiID + strconv.Itoa(n) + "_" + strconv.FormatUint(h.Sum64(), 36)
}

func geminiFinish(reason string) llm.Finish {
	switch reason {
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER":
		return llm.FinishRefusal
	}
	return llm.FinishStop
}

// ParseResponse implements Adapter.
func (Gemini) ParseResponse(c *Call, body []byte, out *llm.Completion) error {
	var r geminiResponse
	if err := decodeGeminiResponse(body, &r); err != nil {
		return err
	}
	// An answer has candidates, or none because the prompt was blocked;
	// JSON with neither must not pass for an empty answer or a safety block.
	if len(r.Candidates) == 0 && r.PromptFeedback.BlockReason == "" {
		return errNotAnAnswer
	}
	a := buffered(c)
	r.walk(&a, c.Req.ToolSet, c.signed())
	a.completion(out)
	return nil
}

// geminiStream translates streamGenerateContent?alt=sse: every event is a
// partial GenerateContentResponse with text increments, thought parts,
// cumulative usageMetadata, and finishReason on the last one. The stream
// ends when the connection does.
type geminiStream struct {
	answer
	tools   *llm.Tools
	signed  bool
	scratch geminiScratch // what each chunk's candidates and parts are read into
}

// NewStream implements Adapter.
func (Gemini) NewStream(c *Call, w llm.StreamWriter) Stream {
	return &geminiStream{answer: streamed(c, w), tools: c.Req.ToolSet, signed: c.signed()}
}

type geminiStreamChunk struct {
	geminiResponse
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (s *geminiStream) Event(dst []byte, _, data []byte) ([]byte, *llm.Error) {
	var ch geminiStreamChunk
	if err := decodeGeminiChunk(data, &ch, &s.scratch); err != nil {
		return dst, errMalformedEvent
	}
	if ch.Error != nil {
		return dst, streamError("gemini: " + ch.Error.Message)
	}
	s.dst = dst
	ch.walk(&s.answer, s.tools, s.signed)
	return s.dst, nil
}

// Done is false: Gemini says nothing after its last chunk but closes.
func (s *geminiStream) Done() bool { return false }

func (s *geminiStream) End(dst []byte) ([]byte, *llm.Error) {
	if !s.finished {
		return dst, streamError("gemini: the stream ended before a finishReason")
	}
	s.dst = dst
	s.end()
	return s.dst, nil
}
