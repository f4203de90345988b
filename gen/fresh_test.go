package gen_test

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/gen"
	"github.com/opentoken/opentoken/internal/gotool"
)

// TestGeneratedIsFresh regenerates generated/ in memory from spec/ and fails,
// with the first differing lines, when the committed files are stale.
func TestGeneratedIsFresh(t *testing.T) {
	root := gotool.ModuleRoot(t)
	specs, err := gen.Load(os.DirFS(filepath.Join(root, "spec")), "spec")
	if err != nil {
		t.Fatal(err)
	}
	want, err := gen.Generate(specs, gen.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "generated")
	for _, name := range sortedNames(want) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("generated/%s is missing; run make generate", name)
			continue
		}
		if d := firstDiff(string(got), string(want[name])); d != "" {
			t.Errorf("generated/%s is stale; run make generate\n%s", name, d)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// The tests of the generated code live beside it, written by hand.
		if _, ok := want[e.Name()]; !ok && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			t.Errorf("generated/%s is not produced from spec/; run make generate to remove it", e.Name())
		}
	}
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// firstDiff describes the first line where got and want differ, with a little
// context, or returns "" when they are equal.
func firstDiff(got, want string) string {
	if got == want {
		return ""
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	var b strings.Builder
	for j := max(0, i-2); j < i; j++ {
		b.WriteString("    " + g[j] + "\n")
	}
	for j := i; j < min(i+3, len(g)); j++ {
		b.WriteString("  - " + g[j] + "\n")
	}
	for j := i; j < min(i+3, len(w)); j++ {
		b.WriteString("  + " + w[j] + "\n")
	}
	return "at line " + itoa(i+1) + ":\n" + b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeTablesAreFresh: the README's per-model tables are what spec/
// produces.
func TestReadmeTablesAreFresh(t *testing.T) {
	root := gotool.ModuleRoot(t)
	specs, err := gen.Load(os.DirFS(filepath.Join(root, "spec")), "spec")
	if err != nil {
		t.Fatal(err)
	}
	section, err := gen.ModelTables(specs)
	if err != nil {
		t.Fatal(err)
	}
	readme := mustRead(t, filepath.Join(root, "README.md"))
	want, ok := gen.SpliceReadme(readme, section)
	if !ok {
		t.Fatalf("README.md lacks the generated section's markers %q and %q", gen.ReadmeBegin, gen.ReadmeEnd)
	}
	if d := firstDiff(readme, want); d != "" {
		t.Errorf("README.md's per-model tables are stale; run make generate\n%s", d)
	}
}
