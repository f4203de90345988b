package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func load(t *testing.T, env map[string]string) *Config {
	if env["OPENTOKEN_DATABASE_URL"] == "" {
		env["OPENTOKEN_DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "opentoken.db")
	}
	t.Helper()
	env["OPENTOKEN_ADDR"] = "127.0.0.1:0"
	cfg, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestEmbeddedDefault starts the gateway with no keys at all: it must serve
// every provider from the built-in emulators, say so loudly, and accept the
// demo key.
func TestEmbeddedDefault(t *testing.T) {
	var log bytes.Buffer
	g, err := Start(load(t, map[string]string{}), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, env := range []string{"ANTHROPIC_API_KEY", "GEMINI_API_KEY"} {
		if !regexp.MustCompile(`WARN.*` + env + ` is not set.*BUILT-IN EMULATOR`).MatchString(log.String()) {
			t.Errorf("no loud line about %s:\n%s", env, log.String())
		}
	}
	if !strings.Contains(log.String(), DemoKey) {
		t.Errorf("the demo key is not printed:\n%s", log.String())
	}
	for _, model := range []string{"anthropic/claude-opus-4-7", "google/gemini-3.1-flash-lite"} {
		if status, body := chat(t, g.Addr, DemoKey, model); status != 200 || !strings.Contains(body, "Emulated") {
			t.Errorf("%s through the embedded emulator: %d %s", model, status, body)
		}
	}
	if status, _ := chat(t, g.Addr, "sk-optk-other", "google/gemini-3-flash"); status != 401 {
		t.Errorf("another key: %d, want 401", status)
	}
}

// TestRefusesOpenRealUpstream: with a real upstream key and no client keys,
// anyone could spend the operator's credit, so the gateway does not start.
func TestRefusesOpenRealUpstream(t *testing.T) {
	_, err := Start(load(t, map[string]string{"GEMINI_API_KEY": "real-gemini-key-0123456789"}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "OPENTOKEN_API_KEYS") {
		t.Fatalf("got %v, want a refusal naming OPENTOKEN_API_KEYS", err)
	}
	if strings.Contains(err.Error(), "real-gemini-key") {
		t.Error("the refusal prints the upstream key")
	}
}

// TestMixedUpstreams: a real key for one provider, the emulator for the
// other, and configured client keys only (no demo key).
func TestMixedUpstreams(t *testing.T) {
	var log bytes.Buffer
	g, err := Start(load(t, map[string]string{
		"OPENTOKEN_API_KEYS": "sk-operator-key-aaaaaaaa, sk-operator-key-bbbbbbbb", "ANTHROPIC_API_KEY": "sk-ant-real-0123456789",
		"ANTHROPIC_BASE_URL": "http://127.0.0.1:1",
	}), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if strings.Contains(log.String(), "ANTHROPIC_API_KEY is not set") || !strings.Contains(log.String(), "GEMINI_API_KEY is not set") {
		t.Errorf("wrong emulator lines:\n%s", log.String())
	}
	if status, _ := chat(t, g.Addr, DemoKey, "google/gemini-3-flash"); status != 401 {
		t.Errorf("demo key accepted with client keys configured: %d", status)
	}
	if status, body := chat(t, g.Addr, "sk-operator-key-bbbbbbbb", "google/gemini-3-flash"); status != 200 {
		t.Errorf("configured key: %d %s", status, body)
	}
	if strings.Contains(log.String(), "sk-ant-real") || strings.Contains(log.String(), "sk-operator-key-aaaaaaaa") {
		t.Errorf("a key reached the log:\n%s", log.String())
	}
}

// TestREADMECurl runs the README's curl example against a gateway on the
// embedded default, so that the first thing a newcomer tries works.
func TestREADMECurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is missing; .ci/run installs it")
		}
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- readme-curl -->\n```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no <!-- readme-curl --> block")
	}
	g, err := Start(load(t, map[string]string{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	script := strings.ReplaceAll(string(m[1]), "http://127.0.0.1:8080", "http://"+g.Addr)
	script = strings.ReplaceAll(script, "curl ", curl+" --fail-with-body ")
	out, err := exec.CommandContext(context.Background(), "bash", "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"object":"chat.completion"`) {
		t.Fatalf("the README's curl failed: %v\n%s", err, out)
	}
}

func chat(t *testing.T, addr, key, model string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprof: the profiler listens on its own loopback address only when
// asked, and stops with the gateway.
func TestPprof(t *testing.T) {
	g, err := Start(load(t, map[string]string{"OPENTOKEN_PPROF_ADDR": "127.0.0.1:0"}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + g.PprofAddr + "/debug/pprof/")
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/debug/pprof/: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + g.Addr + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the main listener serves the profiler")
		}
	}
	http.DefaultClient.CloseIdleConnections()
	g.Close()
	if _, err := http.Get("http://" + g.PprofAddr + "/debug/pprof/"); err == nil {
		t.Error("the profiler outlived the gateway")
	}
}
