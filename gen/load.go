package gen

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Specs is the capability matrix as read from disk, before validation: the
// first stage of the generator. Paths are as the user would type them
// (spec/models/…), so every error can name its file.
type Specs struct {
	Params ParamsFile
	Models []ModelFile // sorted by Path
}

// ParamsFile is spec/params.toml.
type ParamsFile struct {
	Path  string
	Param []ParamDecl `toml:"param"`
}

// ParamDecl is one [[param]] table of spec/params.toml.
type ParamDecl struct {
	Name     string   `toml:"name"`
	Type     string   `toml:"type"`
	Policy   string   `toml:"policy"`
	Min      *float64 `toml:"min"`
	Max      *float64 `toml:"max"`
	Enum     []string `toml:"enum"`
	MaxItems int      `toml:"max_items"`
	AliasOf  string   `toml:"alias_of"`
	Requires string   `toml:"requires"`
}

// ModelFile is one spec/models/<provider>/<model>.toml.
type ModelFile struct {
	Path  string
	Model ModelDecl
}

// ModelDecl is the content of a model file.
type ModelDecl struct {
	ID               string               `toml:"id"`
	Name             string               `toml:"name"`
	Aliases          []string             `toml:"aliases"`
	Provider         string               `toml:"provider"`
	Kind             string               `toml:"kind"`
	UpstreamID       string               `toml:"upstream_id"`
	ContextLength    int                  `toml:"context_length"`
	MaxOutputTokens  int                  `toml:"max_output_tokens"`
	DefaultMaxTokens int                  `toml:"default_max_tokens"`
	MaxStop          int                  `toml:"max_stop"`
	StopNeedsText    bool                 `toml:"stop_needs_text"`
	Exclusive        [][]string           `toml:"exclusive"`
	Pricing          PricingDecl          `toml:"pricing"`
	Forward          map[string]string    `toml:"forward"`
	Clamp            map[string][]float64 `toml:"clamp"`
	Thinking         *ThinkingDecl        `toml:"thinking"`
	Capabilities     []string             `toml:"capabilities"`
	InputModalities  []string             `toml:"input_modalities"`
	FetchesURLs      []string             `toml:"fetches_urls"`
	ToolLoop         *ToolLoopDecl        `toml:"tool_loop"`
	Embedding        *EmbeddingDecl       `toml:"embedding"`
	Cache            *CacheDecl           `toml:"cache"`
	Retired          *RetiredDecl         `toml:"retired"`
	Supplier         []SupplierDecl       `toml:"supplier"`
}

// SupplierDecl is one [[supplier]] table: a supplier kind that serves the
// model, under which upstream id (the model's upstream_id when left out)
// and, for Vertex, in which locations.
type SupplierDecl struct {
	Kind       string   `toml:"kind"`
	UpstreamID string   `toml:"upstream_id"`
	Locations  []string `toml:"locations"`
	Flex       bool     `toml:"flex"`
	MaxBatch   int      `toml:"max_batch"`
	Betas      []string `toml:"betas"`
}

// RetiredDecl is a model's [retired] table: its upstream no longer serves
// it, since a day, and which registered model replaces it.
type RetiredDecl struct {
	On          string `toml:"on"` // YYYY-MM-DD
	Replacement string `toml:"replacement"`
}

// CacheDecl is a chat model's [cache] table: how its upstream caches a
// prompt prefix.
type CacheDecl struct {
	Style          string `toml:"style"`
	MaxBreakpoints int    `toml:"max_breakpoints"`
	MinTokens      int    `toml:"min_tokens"`
}

// EmbeddingDecl is an embedding model's [embedding] table.
type EmbeddingDecl struct {
	Dimensions         int      `toml:"dimensions"`
	MinDimensions      int      `toml:"min_dimensions"`
	NormalizeTruncated bool     `toml:"normalize_truncated"`
	TaskTypes          []string `toml:"task_types"`
	MaxInputTokens     int      `toml:"max_input_tokens"`
	MaxBatch           int      `toml:"max_batch"`
}

// ToolLoopDecl is a model's [tool_loop] table: what its upstream needs back
// of the reasoning behind a tool call, and what the gateway does without it.
type ToolLoopDecl struct {
	Replay                    string `toml:"replay"`
	Unsigned                  string `toml:"unsigned"`
	Placeholder               string `toml:"placeholder"`
	ForcedChoiceDropsThinking bool   `toml:"forced_choice_drops_thinking"`
}

// PricingDecl is a model's [pricing] table, USD per 1M tokens. A cache price
// that is left out is null: the model has no separate cache rate.
type PricingDecl struct {
	Input      *float64 `toml:"input"`
	Output     *float64 `toml:"output"`
	CacheRead  *float64 `toml:"cache_read"`
	CacheWrite *float64 `toml:"cache_write"`
	// CacheWrite1h is the 1-hour cache write rate, where the upstream has one.
	CacheWrite1h *float64 `toml:"cache_write_1h"`
	// Flex is the flex lane's prices, for a model a supplier serves flex.
	Flex *PricingDecl `toml:"flex"`
}

// ThinkingDecl is a model's [thinking] table.
type ThinkingDecl struct {
	Style     string            `toml:"style"`
	Drops     []string          `toml:"drops"`
	MinBudget int               `toml:"min_budget"`
	MaxBudget int               `toml:"max_budget"`
	Budgets   map[string]int    `toml:"budgets"`
	Allowed   []string          `toml:"allowed"`
	Levels    map[string]string `toml:"levels"`
}

// Load reads the capability matrix from fsys, whose root is the spec
// directory; root is how that directory is named in error messages. Decoding
// is strict: a key the schema does not know is an error naming file and key.
func Load(fsys fs.FS, root string) (*Specs, error) {
	s := &Specs{Params: ParamsFile{Path: path.Join(root, "params.toml")}}
	if err := decodeStrict(fsys, "params.toml", s.Params.Path, &s.Params); err != nil {
		return nil, err
	}
	var errs errorList
	err := fs.WalkDir(fsys, "models", func(name string, d fs.DirEntry, err error) error {
		if name == "models" && errors.Is(err, fs.ErrNotExist) {
			return nil // a matrix with no models yet
		}
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(name, ".toml") {
			return nil
		}
		mf := ModelFile{Path: path.Join(root, name)}
		if err := decodeStrict(fsys, name, mf.Path, &mf.Model); err != nil {
			errs.add(err)
			return nil
		}
		s.Models = append(s.Models, mf)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(root, "models"), err)
	}
	sort.Slice(s.Models, func(i, j int) bool { return s.Models[i].Path < s.Models[j].Path })
	return s, errs.err()
}

func decodeStrict(fsys fs.FS, name, shown string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	md, err := toml.Decode(string(b), v)
	if err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return &SpecError{File: shown, Key: strings.Join(keys, ", "), Msg: "unknown key"}
	}
	return nil
}

// SpecError is a problem in one spec file, at one key.
type SpecError struct {
	File, Key, Msg string
}

func (e *SpecError) Error() string {
	if e.Key == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Key + ": " + e.Msg
}

// errorList gathers every problem in the matrix so that one run reports them
// all, not just the first.
type errorList []error

func (l *errorList) add(err error) { *l = append(*l, err) }

func (l *errorList) addf(file, key, format string, args ...any) {
	l.add(&SpecError{File: file, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
