package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	"github.com/opentoken/opentoken/gateway"
)

// TestDemoKeyEndsWithDemoMode: a first run in demo mode stores the public
// demo key in the database; a restart on that database with a real
// upstream key and client keys refuses it (401 invalid_key), says once at
// start that it exists and how to revoke it, and serves the operator's key.
func TestDemoKeyEndsWithDemoMode(t *testing.T) {
	db := "OPENTOKEN_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "opentoken.db")
	chat := func(url, key string) (int, string) {
		req, _ := http.NewRequest("POST", url+"/v1/chat/completions",
			strings.NewReader(`{"model":"anthropic/claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	demo := startBinary(t, []string{db})
	if status, body := chat(demo.URL, gateway.DemoKey); status != 200 {
		t.Fatalf("demo mode, the demo key: %d %s", status, body)
	}
	demo.Stop(t)

	const upstreamKey = "sk-ant-api03-real-upstream-key-0123456789"
	const operatorKey = "sk-operator-0123456789abcdef"
	claude, err := emulator.Start("127.0.0.1:0", emuanthropic.New(upstreamKey).Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer claude.Close()
	real := startBinary(t, []string{db, "OPENTOKEN_API_KEYS=" + operatorKey, "ANTHROPIC_API_KEY=" + upstreamKey, "ANTHROPIC_BASE_URL=" + claude.URL})
	status, body := chat(real.URL, gateway.DemoKey)
	if status != 401 || !strings.Contains(body, `"invalid_key"`) {
		t.Errorf("outside demo mode, the demo key: %d %s; want 401 invalid_key", status, body)
	}
	if status, body := chat(real.URL, operatorKey); status != 200 {
		t.Errorf("the operator's key: %d %s", status, body)
	}
	log := real.Log()
	if n := strings.Count(log, "public demo key"); n != 1 || !strings.Contains(log, "opentoken keys revoke sk-optk-") {
		t.Errorf("the start log names the demo key %d times, want once with how to revoke it:\n%s", n, log)
	}
	if strings.Contains(log, upstreamKey) || strings.Contains(log, operatorKey) {
		t.Errorf("a key reached the log:\n%s", log)
	}
}
