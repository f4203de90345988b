package adapter

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
)

// Gemini's answers and stream chunks are read in one pass with jsonread,
// to exactly what goccy/go-json decodes of them through their structs' JSON
// tags; anything jsonread does not take is left to goccy/go-json.
// FuzzGeminiReaders holds the two to that.

// geminiScratch holds the slices a reader decodes candidates and parts
// into. A stream keeps one and reads every chunk into it, so a chunk
// allocates nothing once the slices have grown to its size; each read
// overwrites what the one before it read.
type geminiScratch struct {
	cands []geminiCandidate
	parts []geminiPart // every candidate's parts, one after the other
}

// reset readies s for a read. The parts' slice is never nil, so that an
// empty "parts" reads as an empty slice, as goccy/go-json decodes it.
func (s *geminiScratch) reset() {
	s.cands = s.cands[:0]
	if s.parts == nil {
		s.parts = make([]geminiPart, 0, 1)
	}
	s.parts = s.parts[:0]
}

// decodeGeminiResponse decodes a whole answer.
func decodeGeminiResponse(body []byte, resp *geminiResponse) error {
	if readGeminiResponse(body, resp, new(geminiScratch)) {
		return nil
	}
	*resp = geminiResponse{}
	return json.UnmarshalNoCopy(body, resp)
}

// decodeGeminiChunk decodes one chunk of a stream, or its error, into
// scratch's slices.
func decodeGeminiChunk(data []byte, ch *geminiStreamChunk, scratch *geminiScratch) error {
	if readGeminiChunk(data, ch, scratch) {
		return nil
	}
	*ch = geminiStreamChunk{}
	return json.UnmarshalNoCopy(data, ch)
}

func readGeminiResponse(body []byte, resp *geminiResponse, scratch *geminiScratch) bool {
	scratch.reset()
	r := jsonread.New(body)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		if key := r.Key(); !readGeminiMember(&r, key, resp, &seen, scratch) {
			r.SkipUnknown(key, geminiResponseFields)
		}
	}
	return r.End()
}

func readGeminiChunk(data []byte, ch *geminiStreamChunk, scratch *geminiScratch) bool {
	scratch.reset()
	r := jsonread.New(data)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		key := r.Key()
		switch {
		case readGeminiMember(&r, key, &ch.geminiResponse, &seen, scratch):
		case string(key) == "error":
			seen.Once(&r, 3)
			jsonread.Decode(&r, &ch.Error)
		default:
			r.SkipUnknown(key, geminiChunkFields)
		}
	}
	return r.End()
}

// The JSON names of the structs read here, in the order of their fields
// for StringFields, and for SkipUnknown.
var (
	geminiResponseFields  = []string{"candidates", "promptFeedback", "usageMetadata"}
	geminiChunkFields     = append(geminiResponseFields[:len(geminiResponseFields):len(geminiResponseFields)], "error")
	geminiCandidateFields = []string{"content", "finishReason"}
	geminiContentFields   = []string{"parts"}
	geminiPartFields      = []string{"text", "thought", "thoughtSignature", "functionCall"}
	geminiCallFields      = []string{"id", "name", "args"}
	geminiFeedbackFields  = []string{"blockReason"}
	geminiUsageFields     = []string{"promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount", "toolUsePromptTokenCount", "trafficType"}
)

// readGeminiMember reads the member key of a response and reports whether
// it is one of the response's fields (numbered 0–2 in seen).
func readGeminiMember(r *jsonread.Reader, key []byte, resp *geminiResponse, seen *jsonread.Fields, scratch *geminiScratch) bool {
	switch string(key) {
	case "candidates":
		seen.Once(r, 0)
		if !r.Null() {
			resp.Candidates = readGeminiCandidates(r, scratch)
		}
	case "promptFeedback":
		seen.Once(r, 1)
		if !r.Null() {
			r.StringFields(geminiFeedbackFields, &resp.PromptFeedback.BlockReason)
		}
	case "usageMetadata":
		seen.Once(r, 2)
		if !r.Null() {
			readGeminiUsage(r, &resp.UsageMetadata)
		}
	default:
		return false
	}
	return true
}

// readGeminiCandidates reads a response's candidates into scratch.
func readGeminiCandidates(r *jsonread.Reader, scratch *geminiScratch) []geminiCandidate {
	cands := scratch.cands
	if cands == nil {
		cands = make([]geminiCandidate, 0, 1)
	}
	for more := r.Array(); more; more = r.More(']') {
		cands = append(cands, geminiCandidate{})
		c := &cands[len(cands)-1]
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "content":
				seen.Once(r, 0)
				if r.Null() {
					break
				}
				var seen jsonread.Fields
				for more := r.Object(); more; more = r.More('}') {
					switch key := r.Key(); string(key) {
					case "parts":
						seen.Once(r, 0)
						if !r.Null() {
							c.Content.Parts = readGeminiParts(r, scratch)
						}
					default:
						r.SkipUnknown(key, geminiContentFields)
					}
				}
			case "finishReason":
				seen.Once(r, 1)
				c.FinishReason = r.NullableString()
			default:
				r.SkipUnknown(key, geminiCandidateFields)
			}
		}
	}
	scratch.cands = cands
	return cands
}

// readGeminiParts reads a candidate's parts; the fields behind a part's
// embedded pointer are set only by a value, as null's effect on that
// pointer is goccy/go-json's to decide. They are appended to scratch's
// parts, and the candidate's are the slice of them it appended.
func readGeminiParts(r *jsonread.Reader, scratch *geminiScratch) []geminiPart {
	start := len(scratch.parts)
	for more := r.Array(); more; more = r.More(']') {
		scratch.parts = append(scratch.parts, geminiPart{})
		p := &scratch.parts[len(scratch.parts)-1]
		call := func() *GeminiCallFields {
			if r.Kind() == 'n' {
				r.Fail()
			}
			if p.GeminiCallFields == nil {
				p.GeminiCallFields = &GeminiCallFields{}
			}
			return p.GeminiCallFields
		}
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "text":
				seen.Once(r, 0)
				p.Text = r.NullableString()
			case "thought":
				seen.Once(r, 1)
				if !r.Null() {
					p.Thought = r.Bool()
				}
			case "thoughtSignature":
				seen.Once(r, 2)
				call().ThoughtSignature = r.String()
			case "functionCall":
				seen.Once(r, 3)
				fc := &geminiCall{}
				call().FunctionCall = fc
				readGeminiCall(r, fc)
			default:
				r.SkipUnknown(key, geminiPartFields)
			}
		}
	}
	end := len(scratch.parts)
	return scratch.parts[start:end:end] // capped: nothing appended later runs into it
}

func readGeminiCall(r *jsonread.Reader, fc *geminiCall) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "id":
			seen.Once(r, 0)
			fc.ID = r.NullableString()
		case "name":
			seen.Once(r, 1)
			fc.Name = r.NullableString()
		case "args":
			seen.Once(r, 2)
			fc.Args = r.Raw()
		default:
			r.SkipUnknown(key, geminiCallFields)
		}
	}
}

func readGeminiUsage(r *jsonread.Reader, u *geminiUsage) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "promptTokenCount":
			seen.Once(r, 0)
			u.PromptTokenCount = nullableInt(r)
		case "candidatesTokenCount":
			seen.Once(r, 1)
			u.CandidatesTokenCount = nullableInt(r)
		case "thoughtsTokenCount":
			seen.Once(r, 2)
			u.ThoughtsTokenCount = nullableInt(r)
		case "cachedContentTokenCount":
			seen.Once(r, 3)
			u.CachedContentTokenCount = nullableInt(r)
		case "toolUsePromptTokenCount":
			seen.Once(r, 4)
			u.ToolUsePromptTokenCount = nullableInt(r)
		case "trafficType":
			seen.Once(r, 5)
			u.TrafficType = r.NullableString()
		default:
			r.SkipUnknown(key, geminiUsageFields)
		}
	}
}
