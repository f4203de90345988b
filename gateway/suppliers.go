package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
	emuvertex "github.com/opentoken/opentoken/emulator/vertex"
	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gcpauth"
	"github.com/opentoken/opentoken/internal/suggest"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
)

// Suppliers. A provider's models are served by its own API (with its
// key) and by Vertex AI in each configured location (with the service
// account's key), in the order OPENTOKEN_SUPPLIERS_<PROVIDER> gives, or by
// default the provider's own API first, then the Vertex locations in
// their order. A supplier named but not configured is served by the
// built-in emulator of its API — loudly — only when it has no key at all:
// that is the demo, or a test; with a key, every name must be configured.

// planned is a supplier the gateway will start with.
type planned struct {
	Name     string // "anthropic", "gemini", "vertex:global"
	Kind     matrix.SupplierKind
	Location string // for Vertex
	Emulated bool   // served by the built-in emulator
}

var locationRE = regexp.MustCompile(`^(global|[a-z]+-[a-z]+[0-9]+)$`)

func validLocation(l string) bool { return locationRE.MatchString(l) }

// providerSettings names each provider's settings, for messages.
var providerSettings = map[matrix.Provider]struct{ order, key string }{
	matrix.ProviderGoogle:    {"OPENTOKEN_SUPPLIERS_GOOGLE", "GEMINI_API_KEY"},
	matrix.ProviderAnthropic: {"OPENTOKEN_SUPPLIERS_ANTHROPIC", "ANTHROPIC_API_KEY"},
}

// ownKind is each provider's own API.
var ownKind = map[matrix.Provider]matrix.SupplierKind{
	matrix.ProviderGoogle: matrix.SupplierGemini, matrix.ProviderAnthropic: matrix.SupplierAnthropic}

// plan resolves the suppliers of every provider, in order. It refuses a
// name it does not know, a Vertex location not configured, and a supplier
// that serves none of the provider's models.
func plan(cfg *Config) (map[matrix.Provider][]planned, error) {
	out := map[matrix.Provider][]planned{}
	var errs []string
	for _, p := range []matrix.Provider{matrix.ProviderAnthropic, matrix.ProviderGoogle} {
		own := planned{Name: ownKind[p].String(), Kind: ownKind[p], Emulated: ownKey(cfg, p) == ""}
		names := cfg.Suppliers[p]
		if names == nil {
			// The default: what is configured, the own API first; the
			// own API's emulator when nothing is.
			var list []planned
			if !own.Emulated {
				list = append(list, own)
			}
			if cfg.Vertex.Credentials != "" {
				for _, l := range cfg.Vertex.Locations {
					if v := vertexSupplier(l, false); servesAny(p, v) {
						list = append(list, v)
					}
				}
			}
			if len(list) == 0 {
				list = []planned{own}
			}
			out[p] = list
			continue
		}
		setting := providerSettings[p].order
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				errs = append(errs, fmt.Sprintf("%s: %s is listed twice", setting, name))
				continue
			}
			seen[name] = true
			var s planned
			switch loc, isVertex := strings.CutPrefix(name, "vertex:"); {
			case name == own.Name:
				s = own
			case isVertex && !validLocation(loc):
				errs = append(errs, fmt.Sprintf("%s: %q is not a Vertex location such as vertex:global or vertex:us-central1", setting, name))
				continue
			case isVertex && cfg.Vertex.Credentials != "" && !contains(cfg.Vertex.Locations, loc):
				errs = append(errs, fmt.Sprintf("%s: %s is not configured; VERTEX_LOCATIONS is %s", setting, name, strings.Join(cfg.Vertex.Locations, ",")))
				continue
			case isVertex:
				s = vertexSupplier(loc, cfg.Vertex.Credentials == "")
			default:
				msg := fmt.Sprintf("%s: unknown supplier %q; %s models are served by %s and vertex:<location>", setting, name, p, own.Name)
				if meant := suggest.Closest(name, []string{own.Name, "vertex:global"}); meant != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", meant)
				}
				errs = append(errs, msg)
				continue
			}
			if !servesAny(p, s) {
				errs = append(errs, fmt.Sprintf("%s: %s serves none of the %s models", setting, name, p))
				continue
			}
			out[p] = append(out[p], s)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

func vertexSupplier(location string, emulated bool) planned {
	return planned{Name: "vertex:" + location, Kind: matrix.SupplierVertex, Location: location, Emulated: emulated}
}

func ownKey(cfg *Config, p matrix.Provider) string {
	if p == matrix.ProviderAnthropic {
		return cfg.Anthropic.APIKey
	}
	return cfg.Gemini.APIKey
}

// servesAny reports whether a supplier serves at least one of a
// provider's models.
func servesAny(p matrix.Provider, s planned) bool {
	for _, m := range generated.Models {
		if _, ok := m.ServedBy(s.Kind, s.Location); ok && m.Provider == p && m.Retired == nil {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// vertexOrigin is where a Vertex location is reached: VERTEX_BASE_URL
// when set, else Google's host for it.
func vertexOrigin(cfg *Config, location string) string {
	switch {
	case cfg.Vertex.BaseURL != "":
		return cfg.Vertex.BaseURL
	case location == "global":
		return "https://aiplatform.googleapis.com"
	}
	return "https://" + location + "-aiplatform.googleapis.com"
}

// routes is the resolved table: each served model and its suppliers in
// order, with the model's id at each, for check-config.
func routes(suppliers map[matrix.Provider][]planned) []string {
	var lines []string
	for _, m := range generated.Models {
		if m.Retired != nil {
			continue
		}
		var via []string
		for _, s := range suppliers[m.Provider] {
			if id, ok := m.ServedBy(s.Kind, s.Location); ok {
				name := s.Name
				if s.Emulated {
					name += " (emulated)"
				}
				via = append(via, name+" "+id)
			}
		}
		if len(via) == 0 {
			via = []string{"none: 503 no_supplier"}
		}
		lines = append(lines, fmt.Sprintf("%-32s %s", m.ID, strings.Join(via, ", ")))
	}
	return lines
}

// startSuppliers builds every planned supplier's upstream: the configured
// with their keys and Google's token source, the rest on built-in
// emulators started here, each announced loudly.
func (g *Gateway) startSuppliers(cfg *Config, suppliers map[matrix.Provider][]planned, log *slog.Logger) (map[matrix.Provider][]adapter.Upstream, error) {
	vertexAt, err := g.vertexAccess(cfg, suppliers, log)
	if err != nil {
		return nil, err
	}
	out := map[matrix.Provider][]adapter.Upstream{}
	for p, list := range suppliers {
		for _, s := range list {
			var up adapter.Upstream
			switch {
			case s.Kind == matrix.SupplierVertex:
				up = vertexAt(s.Location)
			case !s.Emulated && p == matrix.ProviderAnthropic:
				up = adapter.Upstream{BaseURL: cfg.Anthropic.BaseURL, APIKey: cfg.Anthropic.APIKey}
			case !s.Emulated:
				up = adapter.Upstream{BaseURL: cfg.Gemini.BaseURL, APIKey: cfg.Gemini.APIKey}
			case p == matrix.ProviderAnthropic:
				if err := g.emulate(&up, "ANTHROPIC_API_KEY", emuanthropic.New(emulatorKey).Handle, log); err != nil {
					return nil, err
				}
			default:
				if err := g.emulate(&up, "GEMINI_API_KEY", emugemini.New(emulatorKey).Handle, log); err != nil {
					return nil, err
				}
			}
			out[p] = append(out[p], up)
		}
	}
	return out, nil
}

// vertexAccess returns how to reach a Vertex location: with the service
// account of VERTEX_CREDENTIALS, or, when a supplier names Vertex without
// it, the built-in Vertex emulator and its own account.
func (g *Gateway) vertexAccess(cfg *Config, suppliers map[matrix.Provider][]planned, log *slog.Logger) (func(location string) adapter.Upstream, error) {
	named := false
	for _, list := range suppliers {
		for _, s := range list {
			named = named || s.Kind == matrix.SupplierVertex
		}
	}
	if !named {
		return nil, nil
	}
	var src *gcpauth.Source
	project, origin := cfg.Vertex.Project, ""
	if cfg.Vertex.Credentials != "" {
		var err error
		if src, project, err = loadVertex(cfg); err != nil {
			return nil, err
		}
		src.Start()
	} else {
		v, err := emuvertex.New("opentoken-emulated")
		if err != nil {
			return nil, err
		}
		s, err := emulator.Start("127.0.0.1:0", v.Handle)
		if err != nil {
			return nil, fmt.Errorf("starting the built-in Vertex AI emulator: %w", err)
		}
		g.emulators = append(g.emulators, s)
		if src, err = gcpauth.FromJSON(v.Credentials(s.URL)); err != nil {
			return nil, err
		}
		project, origin = v.Project, s.URL
		log.Warn("!!! VERTEX_CREDENTIALS is not set: the vertex suppliers are served by the BUILT-IN EMULATOR at " + s.URL +
			", answers are synthetic and nothing reaches the real API !!!")
	}
	g.tokens = append(g.tokens, src)
	return func(location string) adapter.Upstream {
		base := origin
		if base == "" {
			base = vertexOrigin(cfg, location)
		}
		return adapter.Upstream{BaseURL: base, Kind: matrix.SupplierVertex,
			Vertex: &adapter.Vertex{Project: project, Location: location, Token: src.Token}}
	}, nil
}

// loadVertex reads the service account's key and the project it serves:
// VERTEX_PROJECT, else the key's project_id.
func loadVertex(cfg *Config) (*gcpauth.Source, string, error) {
	src, err := gcpauth.Load(cfg.Vertex.Credentials)
	if err != nil {
		return nil, "", fmt.Errorf("VERTEX_CREDENTIALS: %w", err)
	}
	project := cfg.Vertex.Project
	if project == "" {
		project = src.Project()
	}
	if project == "" {
		src.Close()
		return nil, "", errors.New("VERTEX_PROJECT is not set and the service account's key names no project_id")
	}
	return src, project, nil
}
