package responses

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
)

// A request's body, then its input items (dozens in a Codex request) and
// their content parts, are read in one pass each with jsonread, to exactly
// what goccy/go-json decodes of them through their structs' JSON tags and
// what scanFields notes of the body; what jsonread does not take (see its
// doc) is left to those, which also explain a refusal. FuzzRequestReader,
// FuzzItemReader and FuzzPartsReader hold the two paths to that.

// The JSON names of the structs' fields, in the order of the fields for
// StringFields, and for SkipUnknown.
var (
	itemFields      = []string{"type", "role", "content", "call_id", "name", "namespace", "arguments", "output", "encrypted_content"}
	partFields      = []string{"type", "text", "image_url", "file_id", "refusal", "file_data", "file_url", "filename"}
	toolFields      = []string{"type", "name", "description", "parameters", "strict", "tools"}
	reasoningFields = []string{"effort", "summary"}
	textFields      = []string{"format", "verbosity"}
	formatFields    = []string{"type", "name", "schema", "strict"}
)

// decodeItem decodes one input item into it, which must be zero.
func decodeItem(raw []byte, it *item) error {
	if readItem(raw, it) {
		return nil
	}
	*it = item{}
	return json.UnmarshalNoCopy(raw, it)
}

func readItem(raw []byte, it *item) bool {
	r := jsonread.New(raw)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.Once(&r, 0)
			it.Type = r.NullableString()
		case "role":
			seen.Once(&r, 1)
			it.Role = r.NullableString()
		case "content":
			seen.Once(&r, 2)
			it.Content = r.RawNonNull()
		case "call_id":
			seen.Once(&r, 3)
			it.CallID = r.NullableString()
		case "name":
			seen.Once(&r, 4)
			it.Name = r.NullableString()
		case "namespace":
			seen.Once(&r, 5)
			it.Namespace = r.NullableString()
		case "arguments":
			seen.Once(&r, 6)
			it.Arguments = r.NullableString()
		case "output":
			seen.Once(&r, 7)
			it.Output = r.RawNonNull()
		case "encrypted_content":
			seen.Once(&r, 8)
			it.EncryptedContent = r.NullableString()
		default:
			r.SkipUnknown(key, itemFields)
		}
	}
	return r.End()
}

// decodeParts decodes an array of content parts.
func decodeParts(raw []byte) ([]part, error) {
	if parts, ok := readParts(raw); ok {
		return parts, nil
	}
	var parts []part
	err := json.UnmarshalNoCopy(raw, &parts)
	return parts, err
}

func readParts(raw []byte) ([]part, bool) {
	r := jsonread.New(raw)
	parts := []part{} // an empty array is an empty list, as goccy/go-json reads it
	for more := r.Array(); more; more = r.More(']') {
		parts = append(parts, part{})
		p := &parts[len(parts)-1]
		r.StringFields(partFields, &p.Type, &p.Text, &p.ImageURL, &p.FileID, &p.Refusal, &p.FileData, &p.FileURL, &p.Filename)
	}
	return parts, r.End()
}

// maxToolNesting bounds how deep the reader follows namespace tools; a
// deeper list is left to goccy/go-json (and refused by the door, which
// takes one level).
const maxToolNesting = 4

// readRequest reads a whole body in one pass into r and what scanFields
// notes of it in out: the fields the door reads, the raw views, the
// platform fields dropped. It reports false, having written part of r and
// out, for a body it does not take — a field it does not know among them,
// which the careful path refuses with OpenAI's message.
func readRequest(body []byte, r *request, out *Decoded) bool {
	rd := jsonread.New(body)
	var seen jsonread.Fields
	for more := rd.Object(); more; more = rd.More('}') {
		key := rd.Key()
		field, start := uint(0), rd.Start() // field: the member's number, for Once
		switch string(key) {
		case "model":
			r.Model = rd.NullableString()
		case "instructions":
			field = 1
			r.Instructions = rd.Raw()
		case "input":
			field = 2
			r.Input = rd.Raw()
		case "tools":
			field = 3
			r.Tools = readResponseTools(&rd, 0)
			out.Echo.Tools = oneLine(rd.Since(start))
		case "tool_choice":
			field = 4
			r.ToolChoice = rd.Raw()
		case "parallel_tool_calls":
			field = 5
			r.ParallelToolCalls = rd.OptBool()
		case "reasoning":
			field = 6
			if !rd.Null() {
				r.Reasoning = &reasoning{}
				readReasoning(&rd, r.Reasoning)
			}
		case "max_output_tokens":
			field = 7
			if !rd.Null() {
				v := rd.Int()
				r.MaxOutputTokens = &v
			}
		case "temperature":
			field = 8
			r.Temperature = rd.OptFloat()
			out.Echo.temperature = rd.Since(start)
		case "top_p":
			field = 9
			r.TopP = rd.OptFloat()
			out.Echo.topP = rd.Since(start)
		case "text":
			field = 10
			if !rd.Null() {
				r.Text = &textConfig{}
				readTextConfig(&rd, r.Text)
			}
			out.Echo.Text = oneLine(rd.Since(start))
		case "include":
			field = 11
			r.Include = readStringList(&rd)
		case "store":
			field = 12
			r.Store = rd.Raw()
		case "prompt_cache_key":
			field = 13
			r.PromptCacheKey = rd.OptString()
		case "metadata":
			field = 14
			r.Metadata = rd.Raw()
		case "service_tier":
			field = 15
			r.ServiceTier = rd.OptString()
		case "user":
			field = 16
			r.User = rd.OptString()
		case "stream":
			field = 17
			r.Stream = rd.OptBool()
		case "previous_response_id":
			field = 18
			r.PreviousResponseID = rd.OptString()
		case "safety_identifier":
			field = 19
			r.SafetyIdentifier = rd.OptString()
		default:
			if !unserved[string(key)] {
				return false // unknown: the careful path says so
			}
			out.Dropped = append(out.Dropped, string(key)) // each time it is sent, as scanFields notes it
			rd.Skip()
			continue
		}
		seen.Once(&rd, field)
	}
	return rd.End()
}

func readResponseTools(r *jsonread.Reader, depth int) []tool {
	if r.Null() {
		return nil
	}
	if depth == maxToolNesting {
		r.Fail()
		return nil
	}
	list := []tool{} // an empty array is an empty list, as goccy/go-json reads it
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, tool{})
		t := &list[len(list)-1]
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "type":
				seen.Once(r, 0)
				t.Type = r.NullableString()
			case "name":
				seen.Once(r, 1)
				t.Name = r.NullableString()
			case "description":
				seen.Once(r, 2)
				t.Description = r.NullableString()
			case "parameters":
				seen.Once(r, 3)
				t.Parameters = r.RawNonNull()
			case "strict":
				seen.Once(r, 4)
				t.Strict = r.OptBool()
			case "tools":
				seen.Once(r, 5)
				t.Tools = readResponseTools(r, depth+1)
			default:
				r.SkipUnknown(key, toolFields)
			}
		}
	}
	return list
}

func readReasoning(r *jsonread.Reader, rs *reasoning) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "effort":
			seen.Once(r, 0)
			rs.Effort = r.OptString()
		case "summary":
			seen.Once(r, 1)
			rs.Summary = r.OptString()
		default:
			r.SkipUnknown(key, reasoningFields)
		}
	}
}

func readTextConfig(r *jsonread.Reader, t *textConfig) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "format":
			seen.Once(r, 0)
			if r.Null() {
				break
			}
			f := &format{}
			t.Format = f
			var seen jsonread.Fields
			for more := r.Object(); more; more = r.More('}') {
				switch key := r.Key(); string(key) {
				case "type":
					seen.Once(r, 0)
					f.Type = r.NullableString()
				case "name":
					seen.Once(r, 1)
					f.Name = r.NullableString()
				case "schema":
					seen.Once(r, 2)
					f.Schema = r.RawNonNull()
				case "strict":
					seen.Once(r, 3)
					f.Strict = r.OptBool()
				default:
					r.SkipUnknown(key, formatFields)
				}
			}
		case "verbosity":
			seen.Once(r, 1)
			t.Verbosity = r.OptString()
		default:
			r.SkipUnknown(key, textFields)
		}
	}
}

// readStringList reads an array of strings; null is nil, [] an empty list,
// as goccy/go-json reads them.
func readStringList(r *jsonread.Reader) []string {
	if r.Null() {
		return nil
	}
	list := []string{}
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, r.String())
	}
	return list
}
