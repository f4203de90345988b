package json_test

import (
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gotool"
	"github.com/opentoken/opentoken/internal/json"
)

// TestOnlyDoor: no package of the gateway but this one imports goccy/go-json,
// so that the no-copy decoding and its lifetime rule stay in one place.
func TestOnlyDoor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := gotool.Go(t, gotool.ModuleRoot(t), "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "./...")
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		if strings.Contains(imports, "github.com/goccy/go-json") && pkg != "github.com/opentoken/opentoken/internal/json" {
			t.Errorf("%s imports goccy/go-json; use internal/json", pkg)
		}
	}
}

// TestUnmarshalNoCopy: strings point into the input, as documented.
func TestUnmarshalNoCopy(t *testing.T) {
	data := []byte(`{"s":"abc"}`)
	var v struct{ S string }
	if err := json.UnmarshalNoCopy(data, &v); err != nil || v.S != "abc" {
		t.Fatal(err, v)
	}
	copy(data[6:], "xyz")
	if v.S != "xyz" {
		t.Errorf("the string was copied: %q", v.S)
	}
}
