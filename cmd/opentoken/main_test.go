package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gcpauth"
	"github.com/opentoken/opentoken/internal/gotool"
)

// TestEmulateCommand runs `opentoken emulate` on free ports and sends each
// emulator one valid request, as a user's test suite would.
func TestEmulateCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, []string{"emulate", "--anthropic", "127.0.0.1:0", "--gemini", "127.0.0.1:0", "--key", "my-key"},
			&env{stdout: io.Discard, stderr: io.Discard, ready: func(u []string) { urls <- u }})
	}()
	var u []string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatalf("emulate ended early: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	post := func(url, body string, headers map[string]string) int {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(u[0]+"/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": "my-key", "anthropic-version": "2023-06-01"}); s != 200 {
		t.Errorf("Anthropic emulator: %d", s)
	}
	if s := post(u[1]+"/v1beta/models/gemini-2.5-pro:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
		map[string]string{"x-goog-api-key": "my-key"}); s != 200 {
		t.Errorf("Gemini emulator: %d", s)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestCheckConfig: a good configuration is described without its keys; a
// bad one fails with the setting named.
func TestCheckConfig(t *testing.T) {
	var out strings.Builder
	vars := map[string]string{"OPENTOKEN_API_KEYS": "client-secret-0123456789", "GEMINI_API_KEY": "gemini-secret-0123456789",
		"OPENTOKEN_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "o.db"), "OPENTOKEN_ADDR": "127.0.0.1:0"}
	if err := dispatch(context.Background(), []string{"check-config"}, &env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "configuration OK") || !strings.Contains(s, "anthropic   the built-in emulator") ||
		strings.Contains(s, "secret") {
		t.Errorf("check-config said:\n%s", s)
	}
	for _, bad := range []map[string]string{
		{"GEMINI_API_KEY": "k"},                  // a real upstream open to anyone
		{"OPENTOKEN_PPROF_ADDR": "0.0.0.0:6060"}, // a public profiler
		{"OPENTOKEN_WRITE_TIMEOUT": "sometimes"}, // not a duration
	} {
		if err := dispatch(context.Background(), []string{"check-config"}, &env{getenv: func(k string) string { return bad[k] }, stdout: io.Discard, stderr: io.Discard}); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

// TestLinksNoTestClient: the binary links no SDK and no test helper; those
// live in the sdktest module and in tests.
func TestLinksNoTestClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := gotool.Go(t, gotool.ModuleRoot(t), "list", "-deps", "./cmd/opentoken")
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(out) {
		for _, banned := range []string{"github.com/openai/", "github.com/anthropics/", "google.golang.org/genai", "go.uber.org/goleak",
			"github.com/opentoken/opentoken/internal/gatewaytest", "testing"} {
			if dep == banned || strings.HasPrefix(dep, banned) && strings.HasSuffix(banned, "/") {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
}

// TestEmulateVertex: `opentoken emulate --vertex` writes a service
// account's key whose token endpoint is the emulator; a token exchanged
// with it is taken by Vertex's paths.
func TestEmulateVertex(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	keyFile := filepath.Join(t.TempDir(), "sa.json")
	urls := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, []string{"emulate", "--anthropic", "", "--gemini", "", "--vertex", "127.0.0.1:0", "--vertex-credentials", keyFile},
			&env{stdout: io.Discard, stderr: io.Discard, ready: func(u []string) { urls <- u }})
	}()
	var u []string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatalf("emulate ended early: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	src, err := gcpauth.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", u[0]+"/v1/projects/opentoken-emulated/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict",
		strings.NewReader(`{"anthropic_version":"vertex-2023-10-16","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Claude on the Vertex emulator: %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := dispatch(ctx, []string{"emulate", "--vertex", "127.0.0.1:0"}, &env{stdout: io.Discard, stderr: io.Discard}); err == nil {
		t.Error("--vertex without --vertex-credentials was taken")
	}
}
