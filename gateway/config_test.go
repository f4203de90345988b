package gateway

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/server"
)

func TestDefaults(t *testing.T) {
	c, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics || !c.AccessLog || c.LogFormat != "text" || c.LogLevel != 0 {
		t.Errorf("log and metrics defaults: %+v", c)
	}
	on, err := Load("", func(k string) string {
		return map[string]string{"OPENTOKEN_METRICS": "on", "OPENTOKEN_ACCESS_LOG": "off", "OPENTOKEN_LOG_FORMAT": "json", "OPENTOKEN_LOG_LEVEL": "debug"}[k]
	})
	if err != nil || !on.Metrics || on.AccessLog || on.LogFormat != "json" || on.LogLevel != -4 {
		t.Errorf("log and metrics settings: %+v %v", on, err)
	}
	if c.Addr != DefaultAddr || c.Anthropic.BaseURL != DefaultAnthropicBaseURL || c.Gemini.BaseURL != DefaultGeminiBaseURL ||
		c.Limits != (server.Limits{}).WithDefaults() || len(c.APIKeys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFileAndEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opentoken.toml")
	err := os.WriteFile(path, []byte(`
OPENTOKEN_ADDR = "0.0.0.0:9000"
OPENTOKEN_API_KEYS = ["k1", "k2"]
GEMINI_BASE_URL = "http://127.0.0.1:8082/"
OPENTOKEN_UPSTREAM_TIMEOUT = "5s"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENTOKEN_ADDR": "127.0.0.1:9001", "ANTHROPIC_API_KEY": "sk-ant"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" {
		t.Errorf("the environment must win over the file: %s", c.Addr)
	}
	if strings.Join(c.APIKeys, ",") != "k1,k2" || c.Gemini.BaseURL != "http://127.0.0.1:8082" ||
		c.UpstreamTimeout != 5*time.Second || c.Anthropic.APIKey != "sk-ant" {
		t.Errorf("loaded %+v", c)
	}
}

func TestErrors(t *testing.T) {
	f := func(env map[string]string, want string) {
		t.Helper()
		_, err := Load("", func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", env, err, want)
		}
	}
	f(map[string]string{"ANTHROPIC_BASE_URL": "api.anthropic.com"}, "ANTHROPIC_BASE_URL")
	f(map[string]string{"GEMINI_BASE_URL": "https://generativelanguage.googleapis.com/v1beta"}, "has a path")
	f(map[string]string{"OPENTOKEN_UPSTREAM_TIMEOUT": "soon"}, "OPENTOKEN_UPSTREAM_TIMEOUT")
	f(map[string]string{"OPENTOKEN_STREAM_IDLE_TIMEOUT": "0s"}, "OPENTOKEN_STREAM_IDLE_TIMEOUT")
	f(map[string]string{"OPENTOKEN_MAX_BODY_BYTES": "-1"}, "OPENTOKEN_MAX_BODY_BYTES")
	f(map[string]string{"OPENTOKEN_METRICS": "maybe"}, "OPENTOKEN_METRICS")
	f(map[string]string{"OPENTOKEN_LOG_FORMAT": "xml"}, "OPENTOKEN_LOG_FORMAT")
	f(map[string]string{"OPENTOKEN_LOG_LEVEL": "loud"}, "OPENTOKEN_LOG_LEVEL")

	path := filepath.Join(t.TempDir(), "bad.toml")
	_ = os.WriteFile(path, []byte(`OPENTOKEN_ADRR = "x"`), 0o600)
	if _, err := Load(path, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), `unknown key "OPENTOKEN_ADRR"`) {
		t.Errorf("unknown file key: %v", err)
	}
}

// TestREADMEListsEverySetting: the README's configuration table names every
// setting, and gives each timeout and limit its real default.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 3 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.Trim(strings.TrimSpace(cells[2]), "`")
		}
	}
	defaults := (server.Limits{}).WithDefaults()
	for _, k := range Keys {
		if _, ok := rows[k]; !ok {
			t.Errorf("the README's configuration table does not list %s", k)
		}
	}
	for _, l := range limitSettings {
		doc := rows[l.key]
		if l.dur != nil {
			d, err := time.ParseDuration(doc)
			if want := *l.dur(&defaults); err != nil || d != want {
				t.Errorf("README: %s defaults to %q; the server's default is %v", l.key, doc, want)
			}
			continue
		}
		if n, err := strconv.Atoi(doc); err != nil || n != *l.size(&defaults) {
			t.Errorf("README: %s defaults to %q; the server's default is %d", l.key, doc, *l.size(&defaults))
		}
	}
}
