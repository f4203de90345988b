package generated_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gotool"
)

// TestFiltersAreBranchFree compiles a program that uses every generated
// filter, disassembles each filter function and fails on any conditional
// jump or call: the filters must be straight-line bit arithmetic.
func TestFiltersAreBranchFree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and disassembles a binary")
	}
	root := gotool.ModuleRoot(t)
	mainFile := filepath.Join(root, "internal", "branchcheck", "main.go")
	overlay := gotool.Overlay(t, map[string][]byte{mainFile: []byte(`package main

import "github.com/opentoken/opentoken/generated"

// lookup is a func value so that Lookup is compiled out of line.
var lookup = generated.Lookup

func main() {
	for _, m := range generated.Models {
		println(m.Filter(m.Supported, len(m.ID) > 20), lookup(m.ID) != nil)
	}
}
`)})
	bin := filepath.Join(t.TempDir(), "branchcheck")
	if out, err := gotool.Go(t, root, "build", "-overlay", overlay, "-o", bin, "./internal/branchcheck"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := gotool.Go(t, root, "tool", "objdump", "-s", `generated\.(filter|Lookup)`, bin)
	if err != nil {
		t.Fatalf("go tool objdump: %v\n%s", err, out)
	}
	funcs := splitFunctions(out)
	lookup := funcs["github.com/opentoken/opentoken/generated.Lookup"]
	delete(funcs, "github.com/opentoken/opentoken/generated.Lookup")
	if len(funcs) != len(generated.Models) {
		t.Fatalf("disassembled %d filter functions, want one per model (%d)", len(funcs), len(generated.Models))
	}
	// The detector must be able to fail: Lookup's switch is full of branches.
	if len(branches(lookup)) == 0 {
		t.Fatal("found no branch in generated.Lookup; the detector is broken")
	}
	for name, body := range funcs {
		for _, b := range branches(body) {
			t.Errorf("%s is not branch-free: %s", name, b)
		}
	}
}

// branches returns the instructions of a disassembly that branch or call.
// Go's assembler spells every conditional jump J<cc> (JNE, JLS, JCS, …); JMP
// is the only unconditional one, and a CALL could hide branches.
func branches(disasm string) []string {
	var found []string
	for _, line := range strings.Split(disasm, "\n") {
		if m := branchRE.FindStringSubmatch(line); m != nil && m[1] != "JMP" {
			found = append(found, strings.TrimSpace(line))
		}
	}
	return found
}

var branchRE = regexp.MustCompile(`\t(J[A-Z]+|CALL)\b`)

// splitFunctions cuts objdump output into function name → disassembly.
func splitFunctions(out string) map[string]string {
	funcs := map[string]string{}
	var name string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			name = strings.TrimSuffix(strings.Fields(line)[1], "(SB)")
			funcs[name] = ""
			continue
		}
		if name != "" {
			funcs[name] += line + "\n"
		}
	}
	return funcs
}

// TestDriftGuards renumbers one of package matrix's constants, as a careless
// edit would, and checks that the generated package then fails to build
// instead of silently misreading its tables.
func TestDriftGuards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	root := gotool.ModuleRoot(t)
	typesFile := filepath.Join(root, "matrix", "types.go")
	b, err := os.ReadFile(typesFile)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	mutated := strings.Replace(src, "\tEffortNone Effort = iota\n\tEffortMinimal\n", "\tEffortMinimal Effort = iota\n\tEffortNone\n", 1)
	if mutated == src {
		t.Fatal("matrix/types.go no longer declares the efforts as the test expects; update the test")
	}
	overlay := gotool.Overlay(t, map[string][]byte{typesFile: []byte(mutated)})
	out, err := gotool.Go(t, root, "build", "-overlay", overlay, "./generated")
	if err == nil {
		t.Fatal("generated/ still builds after matrix's efforts were renumbered")
	}
	if !strings.Contains(out, "invalid argument: index") && !strings.Contains(out, "invalid array index") {
		t.Fatalf("build failed, but not on a drift guard:\n%s", out)
	}
	if out, err := gotool.Go(t, root, "build", "./generated"); err != nil {
		t.Fatalf("unmodified generated/ does not build: %v\n%s", err, out)
	}
}
