package openai

import (
	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
	"github.com/opentoken/opentoken/llm"
)

// decodeFast reads a chat request body in one pass: the core fields here,
// the parameters through the generated ParamDecoder. It decodes exactly
// what decodeCareful decodes, or reports false — for anything the careful
// decoder might read otherwise or refuse: a syntax error, a value of
// another type, an unknown or repeated key, a key in other letter case —
// and then req holds a partial decoding to throw away.
//
// Values point into body (see json.UnmarshalNoCopy for the lifetime).
//
// The tools, which the door decodes anyway, are decoded in the same pass
// and returned; the raw parameter is set too, as every parameter is.
func decodeFast(body []byte, req *llm.Request) (tools []tool, ok bool) {
	r := jsonread.New(body)
	params := generated.NewParamDecoder(&req.Superset)
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "model":
			seen.once(&r, 0)
			req.Model = nullableString(&r)
		case "messages":
			seen.once(&r, 1)
			if !r.Null() {
				req.Messages = readMessages(&r)
			}
		case "tools":
			seen.once(&r, 2)
			start := r.Start()
			if r.Kind() == '[' {
				tools = readToolList(&r)
			} else {
				r.Skip() // null, or of another type for Validate to refuse
			}
			req.Tools = r.Since(start)
		default:
			if !params.Decode(key, &r) {
				return nil, false // unknown: the careful decoder names it
			}
		}
	}
	return tools, r.End()
}

// fields is the set of a struct's fields read so far, by their number in
// the reading function: goccy/go-json keeps the last of a repeated key, and
// that rule is left to it.
type fields uint32

func (f *fields) once(r *jsonread.Reader, field uint) {
	if *f&(1<<field) != 0 {
		r.Fail()
	}
	*f |= 1 << field
}

// nullableString reads a string into a string field: null leaves it empty.
func nullableString(r *jsonread.Reader) string {
	if r.Null() {
		return ""
	}
	return r.String()
}

// viaGoccy decodes a value the fast decoder has no reader for (fields
// rare on the hot path) with goccy/go-json itself, which is what the
// careful decoder would do with it.
func viaGoccy[T any](r *jsonread.Reader, v *T) {
	raw := r.Raw()
	if !r.Failed() && json.UnmarshalNoCopy(raw, v) != nil {
		r.Fail()
	}
}

// skipUnknown skips a member no field takes, as goccy/go-json ignores it.
// goccy/go-json matches keys regardless of letter case, so a key equal to
// a field's name in other letters (or one not in ASCII, where case folding
// has surprises) is left to the careful decoder.
func skipUnknown(r *jsonread.Reader, key []byte, names []string) {
	for _, c := range key {
		if c >= 0x80 {
			r.Fail()
			return
		}
	}
	for _, name := range names {
		if asciiEqualFold(key, name) {
			r.Fail()
			return
		}
	}
	r.Skip()
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i]|0x20, s[i]|0x20 // letters only differ in this bit
		if x != y || (b[i] != s[i] && (x < 'a' || x > 'z')) {
			return false
		}
	}
	return true
}

// The JSON names of the structs decoded here, for skipUnknown.
var (
	messageFields  = []string{"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "function_call", "reasoning_details", "audio"}
	partFields     = []string{"type", "text", "image_url", "cache_control", "input_audio", "file"}
	imageURLFields = []string{"url", "detail"}
	cacheFields    = []string{"type", "ttl"}
	toolCallFields = []string{"id", "type", "function", "extra_content"}
	functionFields = []string{"name", "arguments"}
)

// readMessages reads the messages array; most requests have few.
func readMessages(r *jsonread.Reader) []llm.Message {
	msgs := make([]llm.Message, 0, 4)
	for more := r.Array(); more; more = r.More(']') {
		msgs = append(msgs, llm.Message{})
		readMessage(r, &msgs[len(msgs)-1])
	}
	return msgs
}

func readMessage(r *jsonread.Reader, m *llm.Message) {
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "role":
			seen.once(r, 0)
			m.Role = nullableString(r)
		case "content":
			seen.once(r, 1)
			readContent(r, &m.Content)
		case "name":
			seen.once(r, 2)
			m.Name = nullableString(r)
		case "tool_calls":
			seen.once(r, 3)
			if !r.Null() {
				m.ToolCalls = readToolCalls(r)
			}
		case "tool_call_id":
			seen.once(r, 4)
			m.ToolCallID = nullableString(r)
		case "refusal":
			seen.once(r, 5)
			if !r.Null() {
				s := r.String()
				m.Refusal = &s
			}
		case "function_call":
			seen.once(r, 6)
			viaGoccy(r, &m.FunctionCall)
		case "reasoning_details":
			seen.once(r, 7)
			viaGoccy(r, &m.ReasoningDetails)
		case "audio":
			seen.once(r, 8)
			m.Audio = r.Raw()
		default:
			skipUnknown(r, key, messageFields)
		}
	}
}

// readContent reads a string, an array of parts, or null (as
// llm.Content.UnmarshalJSON does).
func readContent(r *jsonread.Reader, c *llm.Content) {
	switch r.Kind() {
	case '"':
		c.Text = r.String()
	case '[':
		c.IsParts = true
		c.Parts = []llm.Part{}
		for more := r.Array(); more; more = r.More(']') {
			c.Parts = append(c.Parts, llm.Part{})
			readPart(r, &c.Parts[len(c.Parts)-1])
		}
	case 'n':
		r.Null()
		c.IsNull = true
	default:
		r.Fail()
	}
}

func readPart(r *jsonread.Reader, p *llm.Part) {
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.once(r, 0)
			p.Type = nullableString(r)
		case "text":
			seen.once(r, 1)
			p.Text = nullableString(r)
		case "image_url":
			seen.once(r, 2)
			if !r.Null() {
				p.ImageURL = readImageURL(r)
			}
		case "cache_control":
			seen.once(r, 3)
			if !r.Null() {
				p.CacheControl = readCacheControl(r)
			}
		case "input_audio":
			seen.once(r, 4)
			p.InputAudio = r.Raw()
		case "file":
			seen.once(r, 5)
			p.File = r.Raw()
		default:
			skipUnknown(r, key, partFields)
		}
	}
}

func readImageURL(r *jsonread.Reader) *llm.ImageURL {
	u := &llm.ImageURL{}
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "url":
			seen.once(r, 0)
			u.URL = nullableString(r)
		case "detail":
			seen.once(r, 1)
			u.Detail = nullableString(r)
		default:
			skipUnknown(r, key, imageURLFields)
		}
	}
	return u
}

func readCacheControl(r *jsonread.Reader) *llm.CacheControl {
	cc := &llm.CacheControl{}
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.once(r, 0)
			cc.Type = nullableString(r)
		case "ttl":
			seen.once(r, 1)
			cc.TTL = nullableString(r)
		default:
			skipUnknown(r, key, cacheFields)
		}
	}
	return cc
}

func readToolCalls(r *jsonread.Reader) []llm.ToolCall {
	calls := []llm.ToolCall{}
	for more := r.Array(); more; more = r.More(']') {
		calls = append(calls, llm.ToolCall{})
		c := &calls[len(calls)-1]
		var seen fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "id":
				seen.once(r, 0)
				c.ID = nullableString(r)
			case "type":
				seen.once(r, 1)
				c.Type = nullableString(r)
			case "function":
				seen.once(r, 2)
				if !r.Null() {
					readFunctionCall(r, &c.Function)
				}
			case "extra_content":
				seen.once(r, 3)
				viaGoccy(r, &c.ExtraContent)
			default:
				skipUnknown(r, key, toolCallFields)
			}
		}
	}
	return calls
}

func readFunctionCall(r *jsonread.Reader, f *llm.FunctionCall) {
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "name":
			seen.once(r, 0)
			f.Name = nullableString(r)
		case "arguments":
			seen.once(r, 1)
			f.Arguments = nullableString(r)
		default:
			skipUnknown(r, key, functionFields)
		}
	}
}

// The JSON names of a tools entry and its function, for skipUnknown.
var (
	toolFields         = []string{"type", "function", "custom", "cache_control"}
	functionDeclFields = []string{"name", "description", "parameters", "strict"}
)

// readTools reads the tools array in one pass, as readMessages does the
// messages; ok is false for anything goccy/go-json might read otherwise.
func readTools(raw []byte) (list []tool, ok bool) {
	r := jsonread.New(raw)
	list = readToolList(&r)
	return list, r.End()
}

func readToolList(r *jsonread.Reader) []tool {
	list := []tool{}
	var functions []llm.Function // each tool's, from chunks: one allocation for many
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, tool{})
		t := &list[len(list)-1]
		var seen fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "type":
				seen.once(r, 0)
				t.Type = nullableString(r)
			case "function":
				seen.once(r, 1)
				if !r.Null() {
					if len(functions) == cap(functions) {
						functions = make([]llm.Function, 0, max(8, 2*cap(functions)))
					}
					functions = append(functions, llm.Function{})
					t.Function = &functions[len(functions)-1]
					readFunction(r, t.Function)
				}
			case "custom":
				seen.once(r, 2)
				t.Custom = r.Raw()
			case "cache_control":
				seen.once(r, 3)
				if !r.Null() {
					t.CacheControl = readCacheControl(r)
				}
			default:
				skipUnknown(r, key, toolFields)
			}
		}
	}
	return list
}

func readFunction(r *jsonread.Reader, f *llm.Function) {
	var seen fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "name":
			seen.once(r, 0)
			f.Name = nullableString(r)
		case "description":
			seen.once(r, 1)
			f.Description = nullableString(r)
		case "parameters":
			seen.once(r, 2)
			f.Parameters = r.Raw()
		case "strict":
			seen.once(r, 3)
			if !r.Null() {
				strict := r.Bool()
				f.Strict = &strict
			}
		default:
			skipUnknown(r, key, functionDeclFields)
		}
	}
}
