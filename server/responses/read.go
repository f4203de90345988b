package responses

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
)

// A request's input items and their content parts, dozens in a Codex
// request, are read in one pass with jsonread, to exactly what
// goccy/go-json decodes of them through their structs' JSON tags; what
// jsonread does not take (see its doc) is left to goccy/go-json, which also
// explains a refusal. FuzzItemReader and FuzzPartsReader hold the two to
// that.

// The JSON names of item's and part's fields, in the order of the fields
// for StringFields, and for SkipUnknown.
var (
	itemFields = []string{"type", "role", "content", "call_id", "name", "namespace", "arguments", "output", "encrypted_content"}
	partFields = []string{"type", "text", "image_url", "file_id", "refusal", "file_data", "file_url", "filename"}
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
			it.Content = rawValue(&r)
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
			it.Output = rawValue(&r)
		case "encrypted_content":
			seen.Once(&r, 8)
			it.EncryptedContent = r.NullableString()
		default:
			r.SkipUnknown(key, itemFields)
		}
	}
	return r.End()
}

// rawValue reads a value as its text. A null is left to goccy/go-json,
// whose raw values keep it in ways of their own.
func rawValue(r *jsonread.Reader) json.RawMessage {
	if r.Kind() == 'n' {
		r.Fail()
		return nil
	}
	return r.Raw()
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
