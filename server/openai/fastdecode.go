package openai

import (
	"sync"

	"github.com/opentoken/opentoken/generated"
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
// into a list from toolLists, returned for decodeTools (and for the
// caller to recycle); the raw parameter is set too, as every parameter is.
func decodeFast(body []byte, req *llm.Request) (tools *[]tool, ok bool) {
	r := jsonread.New(body)
	params := generated.NewParamDecoder(&req.Superset)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "model":
			seen.Once(&r, 0)
			req.Model = r.NullableString()
		case "messages":
			seen.Once(&r, 1)
			if !r.Null() {
				req.Messages = readMessages(&r, req.Messages[:0])
			}
		case "tools":
			seen.Once(&r, 2)
			start := r.Start()
			if r.Kind() == '[' {
				tools = toolLists.Get().(*[]tool)
				*tools = readToolList(&r, (*tools)[:0])
			} else {
				r.Skip() // null, or of another type for Validate to refuse
			}
			req.Tools = r.Since(start)
		default:
			if !params.Decode(key, &r) {
				return tools, false // unknown: the careful decoder names it
			}
		}
	}
	return tools, r.End()
}

// The JSON names of the structs decoded here, in the order of their
// fields for StringFields, and for SkipUnknown.
var (
	messageFields  = []string{"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "function_call", "reasoning_details", "audio"}
	partFields     = []string{"type", "text", "image_url", "cache_control", "input_audio", "file"}
	imageURLFields = []string{"url", "detail"}
	cacheFields    = []string{"type", "ttl"}
	toolCallFields = []string{"id", "type", "function", "extra_content"}
	functionFields = []string{"name", "arguments"}
)

// readMessages reads the messages array; most requests have few.
// readMessages reads the messages into msgs, an empty list whose room they
// take before any allocation; nil for a new list.
func readMessages(r *jsonread.Reader, msgs []llm.Message) []llm.Message {
	if msgs == nil {
		msgs = make([]llm.Message, 0, 4)
	}
	for more := r.Array(); more; more = r.More(']') {
		msgs = append(msgs, llm.Message{})
		readMessage(r, &msgs[len(msgs)-1])
	}
	return msgs
}

func readMessage(r *jsonread.Reader, m *llm.Message) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "role":
			seen.Once(r, 0)
			m.Role = r.NullableString()
		case "content":
			seen.Once(r, 1)
			readContent(r, &m.Content)
		case "name":
			seen.Once(r, 2)
			m.Name = r.NullableString()
		case "tool_calls":
			seen.Once(r, 3)
			if !r.Null() {
				m.ToolCalls = readToolCalls(r)
			}
		case "tool_call_id":
			seen.Once(r, 4)
			m.ToolCallID = r.NullableString()
		case "refusal":
			seen.Once(r, 5)
			m.Refusal = r.OptString()
		case "function_call":
			seen.Once(r, 6)
			jsonread.Decode(r, &m.FunctionCall)
		case "reasoning_details":
			seen.Once(r, 7)
			jsonread.Decode(r, &m.ReasoningDetails)
		case "audio":
			seen.Once(r, 8)
			m.Audio = r.Raw()
		default:
			r.SkipUnknown(key, messageFields)
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
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.Once(r, 0)
			p.Type = r.NullableString()
		case "text":
			seen.Once(r, 1)
			p.Text = r.NullableString()
		case "image_url":
			seen.Once(r, 2)
			if !r.Null() {
				p.ImageURL = readImageURL(r)
			}
		case "cache_control":
			seen.Once(r, 3)
			if !r.Null() {
				p.CacheControl = readCacheControl(r)
			}
		case "input_audio":
			seen.Once(r, 4)
			p.InputAudio = r.Raw()
		case "file":
			seen.Once(r, 5)
			p.File = r.Raw()
		default:
			r.SkipUnknown(key, partFields)
		}
	}
}

func readImageURL(r *jsonread.Reader) *llm.ImageURL {
	u := &llm.ImageURL{}
	r.StringFields(imageURLFields, &u.URL, &u.Detail)
	return u
}

func readCacheControl(r *jsonread.Reader) *llm.CacheControl {
	cc := &llm.CacheControl{}
	r.StringFields(cacheFields, &cc.Type, &cc.TTL)
	return cc
}

func readToolCalls(r *jsonread.Reader) []llm.ToolCall {
	calls := []llm.ToolCall{}
	for more := r.Array(); more; more = r.More(']') {
		calls = append(calls, llm.ToolCall{})
		c := &calls[len(calls)-1]
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "id":
				seen.Once(r, 0)
				c.ID = r.NullableString()
			case "type":
				seen.Once(r, 1)
				c.Type = r.NullableString()
			case "function":
				seen.Once(r, 2)
				if !r.Null() {
					r.StringFields(functionFields, &c.Function.Name, &c.Function.Arguments)
				}
			case "extra_content":
				seen.Once(r, 3)
				jsonread.Decode(r, &c.ExtraContent)
			default:
				r.SkipUnknown(key, toolCallFields)
			}
		}
	}
	return calls
}

// The JSON names of a tools entry and its function, for SkipUnknown.
var (
	toolFields         = []string{"type", "function", "custom", "cache_control"}
	functionDeclFields = []string{"name", "description", "parameters", "strict"}
)

// readTools reads the tools array in one pass, as readMessages does the
// messages; ok is false for anything goccy/go-json might read otherwise.
func readTools(raw []byte) (list []tool, ok bool) {
	r := jsonread.New(raw)
	list = readToolList(&r, nil)
	return list, r.End()
}

// toolLists recycles the lists the fast decoder reads tools into: a list
// lives only until decodeTools has copied the functions out of it, and a
// tool-heavy request's would otherwise be most of its garbage.
var toolLists = sync.Pool{New: func() any { return new([]tool) }}

// recycleTools returns a list to toolLists, cleared of what it points at.
func recycleTools(list *[]tool) {
	clear(*list)
	*list = (*list)[:0]
	toolLists.Put(list)
}

// readToolList appends the tools array to list (an empty array is an
// empty, non-nil list, as goccy/go-json reads it).
func readToolList(r *jsonread.Reader, list []tool) []tool {
	if list == nil {
		list = []tool{}
	}
	var functions []llm.Function // each tool's, from chunks: one allocation for many
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, tool{})
		t := &list[len(list)-1]
		var seen jsonread.Fields
		for more := r.Object(); more; more = r.More('}') {
			switch key := r.Key(); string(key) {
			case "type":
				seen.Once(r, 0)
				t.Type = r.NullableString()
			case "function":
				seen.Once(r, 1)
				if !r.Null() {
					if len(functions) == cap(functions) {
						functions = make([]llm.Function, 0, max(8, 2*cap(functions)))
					}
					functions = append(functions, llm.Function{})
					t.Function = &functions[len(functions)-1]
					readFunction(r, t.Function)
				}
			case "custom":
				seen.Once(r, 2)
				t.Custom = r.Raw()
			case "cache_control":
				seen.Once(r, 3)
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

func readFunction(r *jsonread.Reader, f *llm.Function) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "name":
			seen.Once(r, 0)
			f.Name = r.NullableString()
		case "description":
			seen.Once(r, 1)
			f.Description = r.NullableString()
		case "parameters":
			seen.Once(r, 2)
			f.Parameters = r.Raw()
		case "strict":
			seen.Once(r, 3)
			f.Strict = r.OptBool()
		default:
			r.SkipUnknown(key, functionDeclFields)
		}
	}
}
