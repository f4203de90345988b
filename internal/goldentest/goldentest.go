// Package goldentest compares what a door or adapter writes with the wire
// goldens under a package's testdata, and rewrites them on -update: JSON
// bodies compared as values (formatting and key order aside), event
// streams frame by frame (each frame's event name, and its data as JSON).
// The chat, Messages and Responses goldens all use it.
package goldentest

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Read returns a file's bytes, failing the test when it cannot.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JSON compares got with the golden JSON file, or rewrites the file,
// indented, when update is set.
func JSON(t testing.TB, update bool, golden string, got []byte) {
	t.Helper()
	if update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", "  "); err != nil {
			t.Fatal(err)
		}
		write(t, golden, append(pretty.Bytes(), '\n'))
		return
	}
	if !reflect.DeepEqual(value(t, golden, Read(t, golden)), value(t, "the output", got)) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", golden, got)
	}
}

// Stream compares an event stream with the golden one frame by frame, or
// rewrites the golden when update is set. A frame is an optional
// "event: name" line and a "data: …" line; data that is not JSON
// ([DONE]) is compared as text.
func Stream(t testing.TB, update bool, golden string, got []byte) {
	t.Helper()
	if update {
		write(t, golden, got)
		return
	}
	w, g := frames(t, Read(t, golden)), frames(t, got)
	if len(w) != len(g) {
		t.Fatalf("%s: %d frames, want %d (go test -update rewrites it); got:\n%s", golden, len(g), len(w), got)
	}
	for i := range w {
		same := w[i].event == g[i].event
		if json.Valid([]byte(w[i].data)) {
			same = same && reflect.DeepEqual(value(t, golden, []byte(w[i].data)), value(t, "the output", []byte(g[i].data)))
		} else {
			same = same && w[i].data == g[i].data
		}
		if !same {
			t.Errorf("%s frame %d differs:\n got %s %s\nwant %s %s", golden, i, g[i].event, g[i].data, w[i].event, w[i].data)
		}
	}
}

type frame struct{ event, data string }

func frames(t testing.TB, b []byte) []frame {
	t.Helper()
	var out []frame
	for _, f := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		var fr frame
		if rest, ok := strings.CutPrefix(f, "event: "); ok {
			fr.event, f, _ = strings.Cut(rest, "\n")
		}
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok {
			t.Fatalf("not an event frame: %q", f)
		}
		fr.data = data
		out = append(out, fr)
	}
	return out
}

// value decodes JSON into a value whose comparison ignores formatting and
// key order.
func value(t testing.TB, what string, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, b)
	}
	return v
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
