package sdktest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestClaudeCode runs Claude Code itself, headless, against the gateway
// with an issued key, on a Claude and on a Gemini model: a session that
// calls a tool, gets its result and answers completes, every request it
// sends is accepted, and its usage lands in the key's ledger. It runs in
// a throwaway directory with a throwaway HOME, never on the checkout, and
// may use only a read-only tool.
func TestClaudeCode(t *testing.T) {
	bin := npmBinary(t, "claude", "Claude Code")
	ctx := context.Background()
	key := newTeamKey(t, "claude-code")
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: key.tn, AccessLog: true})

	for _, model := range []string{"claude-sonnet-4-6", "google/gemini-3-flash"} {
		work := t.TempDir()
		if err := os.WriteFile(filepath.Join(work, "notes.txt"), []byte("hello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		home := t.TempDir()
		runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(runCtx, bin, "-p", "Use the Glob tool to list the files here, then say what you found.",
			"--output-format", "stream-json", "--verbose", "--model", model, "--allowedTools", "Glob", "--max-turns", "4")
		cmd.Dir = work
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "ANTHROPIC_BASE_URL=" + env.URL, "ANTHROPIC_API_KEY=" + key.secret,
			"ANTHROPIC_SMALL_FAST_MODEL=" + model, "ANTHROPIC_DEFAULT_HAIKU_MODEL=" + model,
			"DISABLE_AUTOUPDATER=1", "DISABLE_TELEMETRY=1", "DISABLE_ERROR_REPORTING=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: claude failed: %v\nstdout: %s\nstderr: %s\naccess log: %s", model, err, out, stderr.String(), env.Log.String())
		}
		toolUse, toolResult, result := false, false, ""
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var line struct {
				Type    string
				Subtype string
				IsError bool `json:"is_error"`
				Result  string
				Message struct {
					Content []struct{ Type string }
				}
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			for _, c := range line.Message.Content {
				toolUse = toolUse || c.Type == "tool_use"
				toolResult = toolResult || c.Type == "tool_result"
			}
			if line.Type == "result" {
				if line.IsError || line.Subtype != "success" {
					t.Errorf("%s: the session ended in error: %s", model, sc.Bytes())
				}
				result = line.Result
			}
		}
		if !toolUse || !toolResult || result == "" {
			t.Errorf("%s: no tool call, result and answer (tool_use %v, tool_result %v, result %q):\n%s", model, toolUse, toolResult, result, out)
		}
	}
	// Every request Claude Code sent was accepted.
	for _, line := range strings.Split(env.Log.String(), "\n") {
		if strings.Contains(line, `"status":4`) || strings.Contains(line, `"status":5`) {
			t.Errorf("a request was refused: %s", line)
		}
	}
	key.billed(t, "anthropic/claude-sonnet-4-6", "google/gemini-3-flash")
}
