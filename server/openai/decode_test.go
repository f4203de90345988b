package openai

import (
	"encoding/json"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
)

func TestUnknownKey(t *testing.T) {
	f := func(body, want string) {
		t.Helper()
		got, ok := unknownKey([]byte(body))
		if ok != (want == "") || got != want {
			t.Errorf("unknownKey(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
	f(`{}`, "")
	f(`{"model":"x","messages":[{"role":"user","content":"a \"quoted\" } ] { [ \\"}]}`, "")
	f(`{"model":"x","bogus":1}`, "bogus")
	f(` { "model" : "x" , "temperature" : 0.5 , "nested": {"a":[1,{"b":"}"}]} }`, "nested")
	f(`{"\u0074emperature":1,"x\"y":2}`, `x"y`)
	f(`{"stop":["a\\","b"],"seed":-1e3,"logprobs":true,"user":null,"zzz":false}`, "zzz")
}

// FuzzUnknownKey checks the hand-written key walk against encoding/json on
// any valid JSON object.
func FuzzUnknownKey(f *testing.F) {
	for _, s := range []string{`{"model":"m","messages":[]}`, `{"a":{"b":"\\\""},"temperature":[1,2,{"x":"]"}]}`, `{"\u006dodel":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		var unknown []string
		for k := range m {
			if !generated.KnownField(k) {
				unknown = append(unknown, k)
			}
		}
		got, ok := unknownKey([]byte(body))
		if ok != (len(unknown) == 0) {
			t.Fatalf("unknownKey(%s) = %q, %v; encoding/json finds unknown keys %v", body, got, ok, unknown)
		}
		// The name reported may differ from encoding/json's in how invalid
		// UTF-8 is shown, but it must be unknown.
		if !ok && generated.KnownField(got) {
			t.Fatalf("unknownKey(%s) reports the known field %q", body, got)
		}
	})
}

func TestDecodeChatKeepsValues(t *testing.T) {
	var req llm.Request
	body := `{"model":"google/gemini-3-flash","messages":[{"role":"system","content":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral","ttl":"1h"}}]},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"stop":"END","max_completion_tokens":7,"temperature":null}`
	if err := DecodeChat([]byte(body), &req); err != nil {
		t.Fatal(err.Message)
	}
	if req.Model != "google/gemini-3-flash" || len(req.Messages) != 2 || !req.Messages[0].Content.IsParts ||
		req.Messages[0].Content.Parts[0].CacheControl.TTL != "1h" || req.Messages[1].Content.Parts[1].ImageURL.URL != "data:image/png;base64,AAAA" {
		t.Errorf("decoded %+v", req)
	}
	if len(req.Stop) != 1 || req.Stop[0] != "END" || *req.MaxCompletionTokens != 7 || req.Temperature != nil {
		t.Errorf("superset %+v", req.Superset)
	}
	if p := req.Present(); !p.Has(generated.ParamStop) || p.Has(generated.ParamTemperature) {
		t.Errorf("null must count as absent: present %b", p)
	}
}

// FuzzDecodeChat feeds arbitrary bodies to the decoder: it must answer a
// request or a 400, never panic.
func FuzzDecodeChat(f *testing.F) {
	f.Add(`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stop":["a"]}`)
	f.Add(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}}]}],"reasoning":{"effort":"high"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req llm.Request
		if err := DecodeChat([]byte(body), &req); err != nil && err.Status != 400 {
			t.Fatalf("status %d for %q", err.Status, body)
		}
	})
}
