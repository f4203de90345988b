package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	emuvertex "github.com/opentoken/opentoken/emulator/vertex"
	"github.com/opentoken/opentoken/matrix"
)

// TestPlan: the suppliers each provider starts with, in order, from the
// keys, VERTEX_LOCATIONS and the order settings; and what is refused.
func TestPlan(t *testing.T) {
	names := func(env map[string]string) (map[matrix.Provider]string, error) {
		cfg, err := Load("", func(k string) string { return env[k] })
		if err != nil {
			return nil, err
		}
		p, err := plan(cfg)
		if err != nil {
			return nil, err
		}
		out := map[matrix.Provider]string{}
		for prov, list := range p {
			var n []string
			for _, s := range list {
				name := s.Name
				if s.Emulated {
					name += "(emulated)"
				}
				n = append(n, name)
			}
			out[prov] = strings.Join(n, ",")
		}
		return out, nil
	}
	const key = "a-real-looking-key-0123456789"
	for _, c := range []struct {
		env               map[string]string
		anthropic, google string
	}{
		{map[string]string{}, "anthropic(emulated)", "gemini(emulated)"},
		{map[string]string{"GEMINI_API_KEY": key}, "anthropic(emulated)", "gemini"},
		// Vertex configured: the own APIs first where keyed; a location
		// serving none of a provider's models is left out of its default.
		{map[string]string{"GEMINI_API_KEY": key, "VERTEX_CREDENTIALS": "/k.json", "VERTEX_LOCATIONS": "global,us-central1"},
			"vertex:global", "gemini,vertex:global,vertex:us-central1"},
		{map[string]string{"VERTEX_CREDENTIALS": "/k.json", "VERTEX_LOCATIONS": "us-east5", "OPENTOKEN_SUPPLIERS_GOOGLE": "gemini"},
			"vertex:us-east5", "gemini(emulated)"},
		{map[string]string{"GEMINI_API_KEY": key, "VERTEX_CREDENTIALS": "/k.json", "OPENTOKEN_SUPPLIERS_GOOGLE": "vertex:global,gemini"},
			"vertex:global", "vertex:global,gemini"},
		// No credentials: a named Vertex location is emulated.
		{map[string]string{"OPENTOKEN_SUPPLIERS_ANTHROPIC": "anthropic,vertex:us-east5"}, "anthropic(emulated),vertex:us-east5(emulated)", "gemini(emulated)"},
	} {
		got, err := names(c.env)
		if err != nil || got[matrix.ProviderAnthropic] != c.anthropic || got[matrix.ProviderGoogle] != c.google {
			t.Errorf("%v: %v %v, want anthropic %s, google %s", c.env, got, err, c.anthropic, c.google)
		}
	}
	for env, want := range map[string]string{
		"OPENTOKEN_SUPPLIERS_GOOGLE=gemni":                                          `OPENTOKEN_SUPPLIERS_GOOGLE: unknown supplier "gemni"; google models are served by gemini and vertex:<location> (did you mean "gemini"?)`,
		"OPENTOKEN_SUPPLIERS_ANTHROPIC=gemini":                                      `OPENTOKEN_SUPPLIERS_ANTHROPIC: unknown supplier "gemini"`,
		"OPENTOKEN_SUPPLIERS_GOOGLE=gemini,gemini":                                  "OPENTOKEN_SUPPLIERS_GOOGLE: gemini is listed twice",
		"OPENTOKEN_SUPPLIERS_ANTHROPIC=vertex:asia-south1":                          "OPENTOKEN_SUPPLIERS_ANTHROPIC: vertex:asia-south1 serves none of the anthropic models",
		"OPENTOKEN_SUPPLIERS_GOOGLE=vertex:Global":                                  `OPENTOKEN_SUPPLIERS_GOOGLE: "vertex:Global" is not a Vertex location`,
		"VERTEX_LOCATIONS=us central":                                               `VERTEX_LOCATIONS: "us central" is not a location`,
		"VERTEX_CREDENTIALS=/k.json;OPENTOKEN_SUPPLIERS_GOOGLE=vertex:europe-west1": "OPENTOKEN_SUPPLIERS_GOOGLE: vertex:europe-west1 is not configured; VERTEX_LOCATIONS is global",
	} {
		m := map[string]string{}
		for _, kv := range strings.Split(env, ";") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		if _, err := names(m); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", env, err, want)
		}
	}
}

// TestVertexSupplier: a gateway with a service-account key for Vertex
// AI (an emulated one, whose token endpoint is itself) serves a model
// there first when the order says so, and check-config's table names
// each model's suppliers with their ids.
func TestVertexSupplier(t *testing.T) {
	v, err := emuvertex.New("acme-ml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emulator.Start("127.0.0.1:0", v.Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	keyFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(keyFile, v.Credentials(srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENTOKEN_API_KEYS": "sk-operator-key-aaaaaaaa", "GOOGLE_APPLICATION_CREDENTIALS": keyFile,
		"VERTEX_BASE_URL": srv.URL, "VERTEX_LOCATIONS": "global,us-east5", "OPENTOKEN_SUPPLIERS_GOOGLE": "vertex:global,gemini",
		"OPENTOKEN_SUPPLIERS_ANTHROPIC": "vertex:us-east5"}
	cfg := load(t, env)
	in, err := Inspect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	table := strings.Join(in.Routes, "\n")
	for _, want := range []string{
		"google/gemini-3-flash            vertex:global gemini-3-flash-preview, gemini (emulated) gemini-3-flash-preview",
		"anthropic/claude-sonnet-4-5      vertex:us-east5 claude-sonnet-4-5@20250929",
	} {
		if !strings.Contains(table, want) || in.VertexProject != "acme-ml" {
			t.Errorf("check-config's table lacks %q (project %q):\n%s", want, in.VertexProject, table)
		}
	}
	var log bytes.Buffer
	g, err := Start(cfg, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for model, supplier := range map[string]string{"google/gemini-3-flash": "vertex:global", "anthropic/claude-sonnet-4-5": "vertex:us-east5"} {
		req, _ := http.NewRequest("POST", "http://"+g.Addr+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-operator-key-aaaaaaaa")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-OpenToken-Supplier") != supplier {
			t.Errorf("%s: %d %s, supplier %q", model, resp.StatusCode, b, resp.Header.Get("X-OpenToken-Supplier"))
		}
	}
	if v.Exchanges() == 0 || strings.Contains(log.String(), "PRIVATE KEY") {
		t.Errorf("%d token exchanges; the log:\n%s", v.Exchanges(), log.String())
	}
}
