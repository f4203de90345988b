package gen_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/opentoken/opentoken/gen"
	"github.com/opentoken/opentoken/internal/gotool"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden generates each synthetic spec in testdata/golden/<case>/spec,
// compares the output with testdata/golden/<case>/want, and compiles
// the output as a package of this module.
func TestGolden(t *testing.T) {
	root := gotool.ModuleRoot(t)
	cases, err := os.ReadDir("testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata/golden", c.Name())
			specs, err := gen.Load(os.DirFS(filepath.Join(dir, "spec")), "spec")
			if err != nil {
				t.Fatal(err)
			}
			opt := gen.DefaultOptions
			opt.Package = "github.com/opentoken/opentoken/internal/goldenbuild/" + c.Name()
			files, err := gen.Generate(specs, opt)
			if err != nil {
				t.Fatal(err)
			}
			wantDir := filepath.Join(dir, "want")
			if *update {
				os.RemoveAll(wantDir)
				if err := os.MkdirAll(wantDir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, b := range files {
					if err := os.WriteFile(filepath.Join(wantDir, name+".golden"), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			wantFiles, _ := filepath.Glob(filepath.Join(wantDir, "*.golden"))
			if len(wantFiles) != len(files) {
				t.Errorf("generated %d files, golden has %d; run go test ./gen -run Golden -update", len(files), len(wantFiles))
			}
			overlay := map[string][]byte{}
			for _, name := range sortedNames(files) {
				want := mustRead(t, filepath.Join(wantDir, name+".golden"))
				if d := firstDiff(string(files[name]), want); d != "" {
					t.Errorf("%s differs from golden (got -, want +):\n%s", name, d)
				}
				overlay[filepath.Join(root, "internal", "goldenbuild", c.Name(), name)] = files[name]
			}
			if testing.Short() {
				return
			}
			ov := gotool.Overlay(t, overlay)
			if out, err := gotool.Go(t, root, "build", "-overlay", ov, "./internal/goldenbuild/"+c.Name()); err != nil {
				t.Fatalf("generated code does not compile: %v\n%s", err, out)
			}
		})
	}
}

// TestSpecErrors checks that a broken matrix fails generation with an error
// that names the file and the key.
func TestSpecErrors(t *testing.T) {
	params := `
[[param]]
name = "temperature"
type = "number"
policy = "drop"
min = 0.0
max = 2.0
`
	model := func(id, extra string) string {
		return "id = \"" + id + "\"\nprovider = \"anthropic\"\nupstream_id = \"x\"\ncontext_length = 10\nmax_output_tokens = 5\n" +
			extra + "\n[pricing]\ninput = 1.0\noutput = 1.0\n"
	}
	f := func(name string, fsys fstest.MapFS, want string) {
		t.Helper()
		if _, ok := fsys["params.toml"]; !ok {
			fsys["params.toml"] = &fstest.MapFile{Data: []byte(params)}
		}
		specs, err := gen.Load(fsys, "spec")
		if err == nil {
			_, err = gen.Generate(specs, gen.DefaultOptions)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, want)
		}
	}
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	f("unknown key", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "colour = 1"))},
		"spec/models/anthropic/a.toml: colour: unknown key")
	f("unknown nested key", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[thinking]\nstyle = \"anthropic_budget\"\nbudget = 5"))},
		"spec/models/anthropic/a.toml: thinking.budget: unknown key")
	f("unknown parameter", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[forward]\ntempreature = \"t\""))},
		"spec/models/anthropic/a.toml: forward.tempreature: unknown parameter")
	f("bad clamp range", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[forward]\ntemperature = \"t\"\n[clamp]\ntemperature = [0.0, 3.0]"))},
		"spec/models/anthropic/a.toml: clamp.temperature: [0, 3] is outside the superset's range [0, 2]")
	f("effort list drifted from matrix", fstest.MapFS{"params.toml": file(params + `
[[param]]
name = "reasoning_effort"
type = "enum"
policy = "control"
requires = "thinking"
enum = ["none", "low", "high", "ultra"]
`), "models/anthropic/a.toml": file(model("anthropic/a", ""))},
		"spec/params.toml: param.reasoning_effort.enum: must list matrix.EffortNames, in order: none, minimal, low, medium, high, xhigh, max")
	f("duplicate id", fstest.MapFS{
		"models/anthropic/a.toml":            file(model("anthropic/a", "")),
		"models/old/models/anthropic/a.toml": file(model("anthropic/a", "")),
	}, "duplicate model id \"anthropic/a\"")
	f("misplaced file", fstest.MapFS{"models/anthropic/b.toml": file(model("anthropic/a", ""))},
		"spec/models/anthropic/b.toml: id: model \"anthropic/a\" belongs in models/anthropic/a.toml")
	f("bad param range", fstest.MapFS{"params.toml": file("[[param]]\nname = \"top_p\"\ntype = \"number\"\npolicy = \"drop\"\nmin = 1.0\nmax = 0.0\n")},
		"spec/params.toml: param.top_p.max: max 0 < min 1")
	f("duplicate param", fstest.MapFS{"params.toml": file(params + params)},
		"spec/params.toml: param.temperature: duplicate parameter")
	f("bad effort level", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a",
		"[thinking]\nstyle = \"anthropic_adaptive\"\nallowed = [\"low\"]\nlevels = { none = \"\", minimal = \"low\", low = \"low\", medium = \"mid\", high = \"low\", xhigh = \"low\", max = \"low\" }"))},
		"spec/models/anthropic/a.toml: thinking.levels.medium: every effort needs a level")
	f("style of another provider", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[thinking]\nstyle = \"gemini_level\""))},
		"thinking.style: gemini_level is a style of google models")
	f("unknown capability", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `capabilities = ["tools", "telepathy"]`))},
		`spec/models/anthropic/a.toml: capabilities: unknown capability "telepathy"`)
	f("capability without tools", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `capabilities = ["strict_tools"]`))},
		"capabilities: strict_tools needs tools")
	f("unknown requirement", fstest.MapFS{"params.toml": file(params + "[[param]]\nname = \"tools\"\ntype = \"array\"\npolicy = \"reject\"\nrequires = \"telepathy\"\n")},
		`spec/params.toml: param.tools.requires: unknown requirement "telepathy"`)
	f("capability on a control parameter", fstest.MapFS{"params.toml": file(params + "[[param]]\nname = \"tools\"\ntype = \"array\"\npolicy = \"control\"\nrequires = \"tools\"\n")},
		"param.tools.requires: a capability decides support for a drop or reject parameter")
	f("replay of another provider", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "capabilities = [\"tools\"]\n[tool_loop]\nreplay = \"thought_signature\""))},
		"tool_loop.replay: thought_signature is what google models need back")
	f("placeholder without its policy", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "capabilities = [\"tools\"]\n[tool_loop]\nplaceholder = \"x\""))},
		"tool_loop.placeholder: a placeholder signature is required for, and only for")
	f("tool loop without tools", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[tool_loop]\nreplay = \"thinking_blocks\""))},
		"tool_loop: a tool loop needs the tools capability")
	f("forced choice without thinking", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "capabilities = [\"tools\"]\n[tool_loop]\nforced_choice_drops_thinking = true"))},
		"tool_loop.forced_choice_drops_thinking: applies only to a model that thinks")
	f("retired without a registered replacement", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[retired]\non = \"2026-01-14\"\nreplacement = \"anthropic/b\""))},
		`spec/models/anthropic/a.toml: retired.replacement: "anthropic/b" is not a registered model`)
	f("retired replaced by a retired model", fstest.MapFS{
		"models/anthropic/a.toml": file(model("anthropic/a", "[retired]\non = \"2026-01-14\"\nreplacement = \"anthropic/b\"")),
		"models/anthropic/b.toml": file(model("anthropic/b", "[retired]\non = \"2026-01-14\"\nreplacement = \"anthropic/a\"")),
	}, `retired.replacement: "anthropic/b" is retired too`)
	f("alias of two models", fstest.MapFS{
		"models/anthropic/a.toml": file(model("anthropic/a", `aliases = ["claude-a"]`)),
		"models/anthropic/b.toml": file(model("anthropic/b", `aliases = ["claude-a"]`)),
	}, `spec/models/anthropic/b.toml: aliases: "claude-a" already names anthropic/a`)
	f("alias that is an id", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `aliases = ["anthropic/a"]`))},
		`aliases: "anthropic/a" is not a bare model id`)
	f("beta of a bad shape", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[[supplier]]\nkind = \"anthropic\"\nbetas = [\"Interleaved Thinking\"]"))},
		`supplier[0].betas: "Interleaved Thinking" is not an anthropic-beta value`)
	f("an unknown modality", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `input_modalities = ["text", "smell"]`))},
		`input_modalities: unknown modality "smell"`)
	f("image without vision", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `input_modalities = ["text", "image"]`))},
		"input_modalities: image goes with the vision capability")
	f("a URL fetch of a modality it lacks", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", `fetches_urls = ["pdf"]`))},
		`fetches_urls: "pdf" is not a modality the model reads by URL`)
	f("a deep upstream name", fstest.MapFS{"models/anthropic/a.toml": file(model("anthropic/a", "[forward]\ntemperature = \"a.b.c\""))},
		`forward.temperature: "a.b.c": an upstream name is a field, or one member of an object`)
	f("two members of one object", fstest.MapFS{"params.toml": file(params + "[[param]]\nname = \"top_p\"\ntype = \"number\"\npolicy = \"drop\"\nmin = 0.0\nmax = 1.0\n"),
		"models/anthropic/a.toml": file(model("anthropic/a", "[forward]\ntemperature = \"sampling.temperature\"\ntop_p = \"sampling.top_p\""))},
		"are both members of sampling; one member per object")
	f("retired on no day", fstest.MapFS{
		"models/anthropic/a.toml": file(model("anthropic/a", "[retired]\non = \"January\"\nreplacement = \"anthropic/b\"")),
		"models/anthropic/b.toml": file(model("anthropic/b", "")),
	}, `spec/models/anthropic/a.toml: retired.on: "January" is not a YYYY-MM-DD date`)
}
