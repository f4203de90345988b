package jsonread

import (
	stdjson "encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opentoken/opentoken/internal/json"
)

var texts = []string{
	`"plain"`, `"with \"escapes\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800"`, "\"caf\xc3\xa9\"", "\"bad \xff\"",
	"\"ctl \x01\"", `"unterminated`, `"\x"`, `"\u12"`, `"` + strings.Repeat("long text, ", 20) + `"`,
	`0`, `-0`, `01`, `1.`, `.5`, `-`, `1e`, `1e+5`, `-12.5E-3`, `99999999999999999999`, `1e400`,
	`true`, `tru`, `false`, `null`, `nul`, `[]`, `[1,]`, `[1 2]`, `{}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`,
	`{"a":[1,{"b":null}],"c":"d"}`, ` [ 1 , "x" , { } ] `, `[1] x`, `{"\u0061":1}`,
	strings.Repeat("[", 600) + strings.Repeat("]", 600), strings.Repeat("[", 512) + strings.Repeat("]", 512),
	strings.Repeat("[", 513) + strings.Repeat("]", 513), `{"ключ":{"\u00e9":[true,false,null,-1.5e3]}}`, "{\"a\"\t:\n1 , \"b\" : [ ] }",
	`{"a":1}}`, `[{]`, `{"a":}`, `{"a":1 "b":2}`, `[1,]`, `{,}`, `[,1]`,
}

// FuzzString holds String to goccy/go-json: a string it reads, goccy/go-json
// reads to the same value.
func FuzzString(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := New([]byte(text))
		got := r.String()
		if !r.End() {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("String reads %q, goccy/go-json refuses it: %v", text, err)
		}
		if got != want {
			t.Fatalf("String reads %q as %q, goccy/go-json as %q", text, got, want)
		}
	})
}

// FuzzSkip holds Skip to RFC 8259: it takes only what encoding/json and
// goccy/go-json both take, and takes all of that which is UTF-8 and nests
// no deeper than maxDepth.
func FuzzSkip(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := New([]byte(text))
		r.Skip()
		valid := stdjson.Valid([]byte(text)) && json.Valid([]byte(text))
		if took := r.End(); took && !valid {
			t.Fatalf("Skip takes %q, which is not JSON", text)
		} else if !took && valid && utf8.ValidString(text) && strings.Count(text, "[")+strings.Count(text, "{") <= maxDepth {
			t.Fatalf("Skip refuses %q, which is JSON", text)
		}
	})
}

// FuzzNumbers holds Float and Int to goccy/go-json's float64 and int64.
func FuzzNumbers(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := New([]byte(text))
		if v := r.Float(); r.End() {
			var want float64
			if err := json.Unmarshal([]byte(text), &want); err != nil || want != v {
				t.Fatalf("Float reads %q as %v; goccy/go-json: %v, %v", text, v, want, err)
			}
		}
		r = New([]byte(text))
		if v := r.Int(); r.End() {
			var want int64
			if err := json.Unmarshal([]byte(text), &want); err != nil || want != v {
				t.Fatalf("Int reads %q as %v; goccy/go-json: %v, %v", text, v, want, err)
			}
		}
	})
}

func TestReader(t *testing.T) {
	r := New([]byte(` {"a": "x", "b": [1, 2.5, true, null], "c": {"d": "\u00e9"}, "e": "tail"} `))
	var keys []string
	for more := r.Object(); more; more = r.More('}') {
		key := string(r.Key())
		keys = append(keys, key)
		switch key {
		case "a", "e":
			if s := r.String(); s != map[string]string{"a": "x", "e": "tail"}[key] {
				t.Errorf("%s = %q", key, s)
			}
		case "b":
			if !r.Array() || r.Int() != 1 || !r.More(']') || r.Float() != 2.5 || !r.More(']') || !r.Bool() || !r.More(']') || !r.Null() || r.More(']') {
				t.Errorf("b misread")
			}
		case "c":
			if raw := string(r.Raw()); raw != `{"d": "\u00e9"}` {
				t.Errorf("c = %s", raw)
			}
		}
	}
	if !r.End() || strings.Join(keys, ",") != "a,b,c,e" {
		t.Errorf("keys %v, end %v", keys, r.End())
	}
	// A failure sticks: every later read is zero and End is false.
	r = New([]byte(`{"a": nope, "b": "x"}`))
	r.Object()
	r.Key()
	r.Skip()
	if !r.Failed() || r.More('}') || r.String() != "" || r.End() {
		t.Error("a failed reader read on")
	}
}

// Eight bytes at a time must find what one at a time finds, wherever in
// the word the byte that ends a plain run lies.
func TestPlainStringEndEveryPosition(t *testing.T) {
	for _, c := range []byte{'"', '\\', 0x01, 0x1f, 0xc3} {
		for at := 0; at < 20; at++ {
			b := []byte(`"` + strings.Repeat("a", at) + string([]byte{c}) + strings.Repeat("b", 12) + `"`)
			r := New(b)
			got := r.plainStringEnd(1)
			want := 1 + at
			switch {
			case c < 0x20:
				want = -1
			case c >= 0x80: // a lone lead byte: not UTF-8
				want = -1
			}
			if got != want {
				t.Errorf("byte %#x after %d bytes: end %d, want %d", c, at, got, want)
			}
		}
	}
}

// BenchmarkSkip reads a 1 KB chat request whole, beside goccy/go-json's
// validity check of the same bytes.
//
//	go test ./internal/jsonread -run '^$' -bench Skip -benchmem
func BenchmarkSkip(b *testing.B) {
	text, err := os.ReadFile("../../bench/loadtest/request-1k.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("jsonread", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			r := New(text)
			r.Skip()
			if !r.End() {
				b.Fatal("refused")
			}
		}
	})
	// A tool's JSON Schema: short keys and strings, many small containers.
	schema := []byte(`{"type":"object","properties":{"key":{"type":"string","description":"the record key"},"region":{"type":"string","enum":["eu","us","ap"]},` +
		`"limit":{"type":"integer","minimum":1,"maximum":100}},"required":["key"],"additionalProperties":false}`)
	b.Run("jsonread-schema", func(b *testing.B) {
		b.SetBytes(int64(len(schema)))
		for b.Loop() {
			r := New(schema)
			r.Skip()
			if !r.End() {
				b.Fatal("refused")
			}
		}
	})
	b.Run("goccy-valid-schema", func(b *testing.B) {
		b.SetBytes(int64(len(schema)))
		for b.Loop() {
			if !json.Valid(schema) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("goccy-valid", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if !json.Valid(text) {
				b.Fatal("refused")
			}
		}
	})
}

func TestRawNonNull(t *testing.T) {
	r := New([]byte(` {"a":[1, null]} `))
	if got := r.RawNonNull(); string(got) != `{"a":[1, null]}` || !r.End() {
		t.Errorf("a value: %q, end %v", got, r.End())
	}
	r = New([]byte(`null`))
	if got := r.RawNonNull(); got != nil || !r.Failed() {
		t.Errorf("null: %q, failed %v; want nil and a failure", got, r.Failed())
	}
}

func TestOptionalValues(t *testing.T) {
	r := New([]byte(`["s",null,true,null,1.5,null]`))
	r.Array()
	s := r.OptString()
	r.More(']')
	nullString := r.OptString()
	r.More(']')
	b := r.OptBool()
	r.More(']')
	nullBool := r.OptBool()
	r.More(']')
	f := r.OptFloat()
	r.More(']')
	nullFloat := r.OptFloat()
	r.More(']')
	if s == nil || *s != "s" || b == nil || !*b || f == nil || *f != 1.5 {
		t.Errorf("values: %v %v %v", s, b, f)
	}
	if nullString != nil || nullBool != nil || nullFloat != nil {
		t.Errorf("nulls: %v %v %v, want nil", nullString, nullBool, nullFloat)
	}
	if !r.End() {
		t.Error("the text was not read whole")
	}
	r = New([]byte(`1`))
	if r.OptString(); !r.Failed() {
		t.Error("a number read as an optional string")
	}
}
