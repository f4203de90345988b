package bench

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/anthropic"
	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/server/responses"
)

// The same conversation through each door to the same Claude model: a
// system prompt, a user turn, temperature, top_p and max_tokens.
var (
	chatDoorBody = []byte(`{"model":"anthropic/claude-sonnet-4-6","max_tokens":512,"temperature":0.4,"messages":[` +
		`{"role":"system","content":"You are a careful assistant. Answer in two sentences."},` +
		`{"role":"user","content":"Explain why the sky is blue, and why sunsets are red, to a ten-year-old."}]}`)
	responsesDoorBody = []byte(`{"model":"anthropic/claude-sonnet-4-6","max_output_tokens":512,"temperature":0.4,"store":false,` +
		`"instructions":"You are a careful assistant. Answer in two sentences.",` +
		`"input":[{"role":"user","content":"Explain why the sky is blue, and why sunsets are red, to a ten-year-old."}]}`)
	messagesDoorBody = []byte(`{"model":"claude-sonnet-4-6","max_tokens":512,"temperature":0.4,` +
		`"system":"You are a careful assistant. Answer in two sentences.","messages":[` +
		`{"role":"user","content":"Explain why the sky is blue, and why sunsets are red, to a ten-year-old."}]}`)
)

// BenchmarkDoor measures a request through each front door (chat,
// Messages, Responses) to the same
// upstream body (decode, validate, filter, write the Messages body) and
// the answer back (parse Anthropic's message, write the door's answer):
// a Messages request must cost no more gateway CPU than the chat one.
//
//	go test ./bench -run '^$' -bench 'Door' -benchmem -count 6
//
// doorDecoders decode the conversation through each door.
var doorDecoders = map[string]func(req *llm.Request) *llm.Error{
	"chat": func(req *llm.Request) *llm.Error { return openai.DecodeChat(chatDoorBody, req) },
	"messages": func(req *llm.Request) *llm.Error {
		var dec anthropic.Decoded
		return anthropic.Decode(messagesDoorBody, req, &dec, false)
	},
	"responses": func(req *llm.Request) *llm.Error {
		var dec responses.Decoded
		if e := responses.Decode(responsesDoorBody, nil, req, &dec, nil); e != nil {
			return e
		}
		req.Model = "anthropic/claude-sonnet-4-6"
		return nil
	},
}

// doorUpstream is where the doors' requests go, made once as the server's
// settings are.
var doorUpstream = adapter.Upstream{BaseURL: "http://upstream", APIKey: "k"}

// doorRequest takes the conversation through door to the upstream body
// for model m: decode, validate, filter, write.
func doorRequest(door string, m *matrix.Model, req *fasthttp.Request, buf []byte) *llm.Error {
	var r llm.Request
	if e := doorDecoders[door](&r); e != nil {
		return e
	}
	call, e := adapter.NewCall(&r, m)
	if e != nil {
		return e
	}
	sinkBytes, e = adapter.Anthropic{}.BuildRequest(req, buf[:0], call, &doorUpstream)
	return e
}

func BenchmarkDoor(b *testing.B) {
	m := generated.Lookup("anthropic/claude-sonnet-4-6")
	response := golden("anthropic/text/upstream_response.json")
	decode := doorDecoders
	meta := &responses.Meta{ID: "resp_0123456789abcdef01234567", CreatedAt: 1730000000, Model: "anthropic/claude-sonnet-4-6"}
	var dec responses.Decoded
	var r llm.Request
	_ = responses.Decode(responsesDoorBody, nil, &r, &dec, nil)
	meta.Request = &dec
	for _, door := range []string{"chat", "messages", "responses"} {
		b.Run(door+"/request", func(b *testing.B) {
			b.ReportAllocs()
			var req fasthttp.Request
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				if e := doorRequest(door, m, &req, buf); e != nil {
					b.Fatal(e.Message)
				}
			}
		})
		b.Run(door+"/response", func(b *testing.B) {
			b.ReportAllocs()
			var r llm.Request
			if e := decode[door](&r); e != nil {
				b.Fatal(e.Message)
			}
			call, _ := adapter.NewCall(&r, m)
			out := make([]byte, 0, 4096)
			for b.Loop() {
				var c llm.Completion
				if err := (adapter.Anthropic{}).ParseResponse(call, response, &c); err != nil {
					b.Fatal(err)
				}
				switch door {
				case "chat":
					out = openai.AppendCompletion(out[:0], "chatcmpl-0123456789abcdef01234567", 1730000000, "anthropic/claude-sonnet-4-6", &c, true)
				case "messages":
					out = anthropic.AppendMessage(out[:0], "msg_0123456789abcdef01234567", "claude-sonnet-4-6", &c)
				default:
					out = responses.AppendResponse(out[:0], meta, &c)
				}
				sinkBytes = out
			}
		})
	}
}
