package anthropic

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
	"github.com/opentoken/opentoken/llm"
)

// A Messages request body is read in one pass with jsonread, to exactly
// what goccy/go-json decodes of it through request's JSON tags: strings and
// raw values point into the body (no copies), the scalars share one
// allocation. Anything the pass does not take — another type, a repeated
// key, a key in other letter case, a null raw value — is left to
// goccy/go-json, which also writes every error message. FuzzRequestReader
// holds the two to that.

// decodeRequest decodes body into r.
func decodeRequest(body []byte, r *request) error {
	if readRequest(body, r) {
		return nil
	}
	*r = request{}
	return json.UnmarshalNoCopy(body, r)
}

// requestFields are request's JSON names, for SkipUnknown.
var requestFields = []string{"model", "max_tokens", "system", "messages", "tools", "tool_choice", "thinking", "output_config",
	"temperature", "top_p", "top_k", "stop_sequences", "metadata", "stream", "service_tier"}

var messageFields = []string{"role", "content"}

// requestValues holds what a read request's pointer fields point at.
type requestValues struct {
	maxTokens, topK   int64
	temperature, topP float64
	stream            bool
	serviceTier       string
}

func readRequest(body []byte, req *request) bool {
	r := jsonread.New(body)
	var seen jsonread.Fields
	var values *requestValues
	scalars := func() *requestValues {
		if values == nil {
			values = new(requestValues)
		}
		return values
	}
	for more := r.Object(); more; more = r.More('}') {
		key := r.Key()
		field := 0
		for field < len(requestFields) && requestFields[field] != string(key) {
			field++
		}
		if field == len(requestFields) {
			r.SkipUnknown(key, requestFields)
			continue
		}
		seen.Once(&r, uint(field))
		switch field {
		case 0:
			req.Model = r.NullableString()
		case 2:
			req.System = rawValue(&r)
		case 3:
			if !r.Null() {
				req.Messages = readMessages(&r)
			}
		case 4:
			jsonread.Decode(&r, &req.Tools)
		case 5:
			jsonread.Decode(&r, &req.ToolChoice)
		case 6:
			jsonread.Decode(&r, &req.Thinking)
		case 7:
			jsonread.Decode(&r, &req.OutputConfig)
		case 11:
			switch r.Kind() {
			case 'n':
				r.Null()
			case '[': // an array only: AppendStrings would take a lone string too
				req.StopSequences = r.AppendStrings([]string{})
			default:
				r.Fail()
			}
		case 12:
			jsonread.Decode(&r, &req.Metadata)
		default:
			if r.Null() {
				break
			}
			v := scalars()
			switch field {
			case 1:
				v.maxTokens = r.Int()
				req.MaxTokens = &v.maxTokens
			case 8:
				v.temperature = r.Float()
				req.Temperature = &v.temperature
			case 9:
				v.topP = r.Float()
				req.TopP = &v.topP
			case 10:
				v.topK = r.Int()
				req.TopK = &v.topK
			case 13:
				v.stream = r.Bool()
				req.Stream = &v.stream
			case 14:
				v.serviceTier = r.String()
				req.ServiceTier = &v.serviceTier
			}
		}
	}
	return r.End()
}

// readMessages reads the turns, their contents as raw values.
func readMessages(r *jsonread.Reader) []message {
	msgs := make([]message, 0, 4)
	for more := r.Array(); more; more = r.More(']') {
		msgs = append(msgs, message{})
		m := &msgs[len(msgs)-1]
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "role":
				seen.Once(r, 0)
				m.Role = r.NullableString()
			case "content":
				seen.Once(r, 1)
				m.Content = rawValue(r)
			default:
				r.SkipUnknown(key, messageFields)
			}
		}
	}
	return msgs
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

// decodeBlocks decodes an array of content blocks into blocks.
func decodeBlocks(raw []byte, blocks *[]block) error {
	if readBlocks(raw, blocks) {
		return nil
	}
	*blocks = nil
	return json.UnmarshalNoCopy(raw, blocks)
}

var (
	blockFields = []string{"type", "text", "cache_control", "source", "title", "context", "citations", "id", "name", "input",
		"tool_use_id", "content", "is_error", "thinking", "signature", "data"}
	cacheFields  = []string{"type", "ttl"}
	sourceFields = []string{"type", "media_type", "data", "url"}
)

func readBlocks(raw []byte, blocks *[]block) bool {
	r := jsonread.New(raw)
	if r.Null() {
		return r.End()
	}
	list := make([]block, 0, 2)
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, block{})
		readBlock(&r, &list[len(list)-1])
	}
	*blocks = list
	return r.End()
}

func readBlock(r *jsonread.Reader, b *block) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		key := r.Key()
		field := 0
		for field < len(blockFields) && blockFields[field] != string(key) {
			field++
		}
		if field == len(blockFields) {
			r.SkipUnknown(key, blockFields)
			continue
		}
		seen.Once(r, uint(field))
		switch field {
		case 0:
			b.Type = r.NullableString()
		case 1:
			b.Text = r.NullableString()
		case 2:
			if !r.Null() {
				b.CacheControl = &llm.CacheControl{}
				r.StringFields(cacheFields, &b.CacheControl.Type, &b.CacheControl.TTL)
			}
		case 3:
			if !r.Null() {
				b.Source = &source{}
				r.StringFields(sourceFields, &b.Source.Type, &b.Source.MediaType, &b.Source.Data, &b.Source.URL)
			}
		case 4:
			b.Title = r.NullableString()
		case 5:
			b.Context = r.NullableString()
		case 6:
			b.Citations = rawValue(r)
		case 7:
			b.ID = r.NullableString()
		case 8:
			b.Name = r.NullableString()
		case 9:
			b.Input = rawValue(r)
		case 10:
			b.ToolUseID = r.NullableString()
		case 11:
			b.Content = rawValue(r)
		case 12:
			if !r.Null() {
				b.IsError = r.Bool()
			}
		case 13:
			b.Thinking = r.NullableString()
		case 14:
			b.Signature = r.NullableString()
		case 15:
			b.Data = r.NullableString()
		}
	}
}
