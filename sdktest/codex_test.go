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

// TestCodex runs Codex itself (codex exec) against the gateway's
// Responses door with an issued key, on a Claude and a Gemini model: a
// session that calls its shell tool, gets the result and answers
// completes, and its usage lands in the key's ledger. It runs in a
// throwaway directory with throwaway HOME and CODEX_HOME, in Codex's
// read-only sandbox, never on the checkout.
func TestCodex(t *testing.T) {
	bin := npmBinary(t, "codex", "Codex")
	ctx := context.Background()
	key := newTeamKey(t, "codex")
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: key.tn, AccessLog: true, Responses: key.db})

	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"} {
		work, home := t.TempDir(), t.TempDir()
		codexHome := filepath.Join(home, ".codex")
		if err := os.MkdirAll(codexHome, 0o700); err != nil {
			t.Fatal(err)
		}
		config := `model = "` + model + `"
model_provider = "opentoken"

[model_providers.opentoken]
name = "OpenToken"
base_url = "` + env.URL + `/v1"
env_key = "OPENTOKEN_API_KEY"
wire_api = "responses"
`
		if err := os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(runCtx, bin, "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only",
			"Run exec_command to list the files here, then tell me what you found.")
		cmd.Dir = work
		cmd.Env = []string{"HOME=" + home, "CODEX_HOME=" + codexHome, "PATH=" + os.Getenv("PATH"), "OPENTOKEN_API_KEY=" + key.secret}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: codex failed: %v\nstdout: %s\nstderr: %s\naccess log: %s", model, err, out, stderr.String(), env.Log.String())
		}
		command, answered, completed := false, false, false
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev struct {
				Type string
				Item struct {
					Type string
					Text string
				}
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			switch {
			case ev.Type == "item.completed" && ev.Item.Type == "command_execution":
				command = true
			case ev.Type == "item.completed" && ev.Item.Type == "agent_message" && ev.Item.Text != "":
				answered = true
			case ev.Type == "turn.completed":
				completed = true
			case ev.Type == "turn.failed" || ev.Type == "error":
				t.Errorf("%s: %s", model, sc.Bytes())
			}
		}
		if !command || !answered || !completed {
			t.Errorf("%s: no command, answer and completed turn (%v %v %v):\n%s\nstderr: %s", model, command, answered, completed, out, stderr.String())
		}
	}
	for _, line := range strings.Split(env.Log.String(), "\n") {
		if strings.Contains(line, "endpoint=responses") && (strings.Contains(line, "status=4") || strings.Contains(line, "status=5")) {
			t.Errorf("a request was refused: %s", line)
		}
	}
	key.billed(t, "anthropic/claude-sonnet-4-6", "google/gemini-3-flash")
}
