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
	var values *requestValues // allocated at the first scalar
	scalars := func() *requestValues {
		if values == nil {
			values = new(requestValues)
		}
		return values
	}
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "model":
			seen.Once(&r, 0)
			req.Model = r.NullableString()
		case "max_tokens":
			seen.Once(&r, 1)
			if !r.Null() {
				v := scalars()
				v.maxTokens = r.Int()
				req.MaxTokens = &v.maxTokens
			}
		case "system":
			seen.Once(&r, 2)
			req.System = r.RawNonNull()
		case "messages":
			seen.Once(&r, 3)
			if !r.Null() {
				req.Messages = readMessages(&r)
			}
		case "tools":
			seen.Once(&r, 4)
			req.Tools = readTools(&r)
		case "tool_choice":
			seen.Once(&r, 5)
			jsonread.Decode(&r, &req.ToolChoice)
		case "thinking":
			seen.Once(&r, 6)
			jsonread.Decode(&r, &req.Thinking)
		case "output_config":
			seen.Once(&r, 7)
			jsonread.Decode(&r, &req.OutputConfig)
		case "temperature":
			seen.Once(&r, 8)
			if !r.Null() {
				v := scalars()
				v.temperature = r.Float()
				req.Temperature = &v.temperature
			}
		case "top_p":
			seen.Once(&r, 9)
			if !r.Null() {
				v := scalars()
				v.topP = r.Float()
				req.TopP = &v.topP
			}
		case "top_k":
			seen.Once(&r, 10)
			if !r.Null() {
				v := scalars()
				v.topK = r.Int()
				req.TopK = &v.topK
			}
		case "stop_sequences":
			seen.Once(&r, 11)
			switch r.Kind() {
			case 'n':
				r.Null()
			case '[': // an array only: AppendStrings would take a lone string too
				req.StopSequences = r.AppendStrings([]string{})
			default:
				r.Fail()
			}
		case "metadata":
			seen.Once(&r, 12)
			jsonread.Decode(&r, &req.Metadata)
		case "stream":
			seen.Once(&r, 13)
			if !r.Null() {
				v := scalars()
				v.stream = r.Bool()
				req.Stream = &v.stream
			}
		case "service_tier":
			seen.Once(&r, 14)
			if !r.Null() {
				v := scalars()
				v.serviceTier = r.String()
				req.ServiceTier = &v.serviceTier
			}
		default:
			r.SkipUnknown(key, requestFields)
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
				m.Content = r.RawNonNull()
			default:
				r.SkipUnknown(key, messageFields)
			}
		}
	}
	return msgs
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
	toolFields   = []string{"type", "name", "description", "input_schema", "strict", "cache_control"}
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
		switch key := r.Key(); string(key) {
		case "type":
			seen.Once(r, 0)
			b.Type = r.NullableString()
		case "text":
			seen.Once(r, 1)
			b.Text = r.NullableString()
		case "cache_control":
			seen.Once(r, 2)
			if !r.Null() {
				b.CacheControl = readCacheControl(r)
			}
		case "source":
			seen.Once(r, 3)
			if !r.Null() {
				b.Source = &source{}
				r.StringFields(sourceFields, &b.Source.Type, &b.Source.MediaType, &b.Source.Data, &b.Source.URL)
			}
		case "title":
			seen.Once(r, 4)
			b.Title = r.NullableString()
		case "context":
			seen.Once(r, 5)
			b.Context = r.NullableString()
		case "citations":
			seen.Once(r, 6)
			b.Citations = r.RawNonNull()
		case "id":
			seen.Once(r, 7)
			b.ID = r.NullableString()
		case "name":
			seen.Once(r, 8)
			b.Name = r.NullableString()
		case "input":
			seen.Once(r, 9)
			b.Input = r.RawNonNull()
		case "tool_use_id":
			seen.Once(r, 10)
			b.ToolUseID = r.NullableString()
		case "content":
			seen.Once(r, 11)
			b.Content = r.RawNonNull()
		case "is_error":
			seen.Once(r, 12)
			if !r.Null() {
				b.IsError = r.Bool()
			}
		case "thinking":
			seen.Once(r, 13)
			b.Thinking = r.NullableString()
		case "signature":
			seen.Once(r, 14)
			b.Signature = r.NullableString()
		case "data":
			seen.Once(r, 15)
			b.Data = r.NullableString()
		default:
			r.SkipUnknown(key, blockFields)
		}
	}
}

// readTools reads the tools array, Claude Code's longest member after the
// messages: null is nil, [] an empty list, as goccy/go-json reads them.
func readTools(r *jsonread.Reader) []tool {
	if r.Null() {
		return nil
	}
	list := []tool{}
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
			case "input_schema":
				seen.Once(r, 3)
				t.InputSchema = r.RawNonNull()
			case "strict":
				seen.Once(r, 4)
				t.Strict = r.OptBool()
			case "cache_control":
				seen.Once(r, 5)
				if !r.Null() {
					t.CacheControl = readCacheControl(r)
				}
			default:
				r.SkipUnknown(key, toolFields)
			}
		}
	}
	return list
}

// readCacheControl reads a cache_control object, of a block or a tool.
func readCacheControl(r *jsonread.Reader) *llm.CacheControl {
	cc := &llm.CacheControl{}
	r.StringFields(cacheFields, &cc.Type, &cc.TTL)
	return cc
}
