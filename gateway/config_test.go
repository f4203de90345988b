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
	if c.Metrics || !c.AccessLog || c.AccessLogFlush != time.Second || c.LogFormat != "text" || c.LogLevel != 0 {
		t.Errorf("log and metrics defaults: %+v", c)
	}
	on, err := Load("", func(k string) string {
		return map[string]string{"OPENTOKEN_METRICS": "on", "OPENTOKEN_ACCESS_LOG": "off", "OPENTOKEN_ACCESS_LOG_FLUSH": "0",
			"OPENTOKEN_LOG_FORMAT": "json", "OPENTOKEN_LOG_LEVEL": "debug"}[k]
	})
	if err != nil || !on.Metrics || on.AccessLog || on.AccessLogFlush != 0 || on.LogFormat != "json" || on.LogLevel != -4 {
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
	f(map[string]string{"OPENTOKEN_ACCESS_LOG_FLUSH": "-1s"}, "OPENTOKEN_ACCESS_LOG_FLUSH")
	f(map[string]string{"OPENTOKEN_ACCESS_LOG_FLUSH": "often"}, "OPENTOKEN_ACCESS_LOG_FLUSH")
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

// TestTypedFile: a TOML file may give a setting in its own type — a
// boolean, an integer, an array — as well as the environment's text; a
// wrong type is told with the type the setting takes.
func TestTypedFile(t *testing.T) {
	write := func(body string) string {
		path := filepath.Join(t.TempDir(), "opentoken.toml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	none := func(string) string { return "" }
	c, err := Load(write(`
OPENTOKEN_METRICS = true
OPENTOKEN_ACCESS_LOG = false
OPENTOKEN_MAX_BODY_BYTES = 1048576
OPENTOKEN_API_KEYS = ["sk-operator-key-aaaaaaaa", "sk-operator-key-bbbbbbbb"]
OPENTOKEN_CORS_ORIGINS = ["https://app.example.com", "http://localhost:5173"]
OPENTOKEN_UPSTREAM_TIMEOUT = "5s"
`), none)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Metrics || c.AccessLog || c.MaxBodyBytes != 1048576 || len(c.APIKeys) != 2 || c.UpstreamTimeout != 5*time.Second ||
		strings.Join(c.CORSOrigins, " ") != "https://app.example.com http://localhost:5173" {
		t.Errorf("typed values: %+v", c)
	}
	for body, want := range map[string]string{
		`OPENTOKEN_UPSTREAM_TIMEOUT = 30`:                   `OPENTOKEN_UPSTREAM_TIMEOUT = 30: want a duration string such as "30s"`,
		`OPENTOKEN_MAX_BODY_BYTES = true`:                   "OPENTOKEN_MAX_BODY_BYTES = true: want a byte count (an integer)",
		`OPENTOKEN_METRICS = 1`:                             `OPENTOKEN_METRICS = 1: want true or false (or "on" or "off")`,
		`OPENTOKEN_API_KEYS = [1, 2]`:                       "OPENTOKEN_API_KEYS takes strings, and item 1 is 1",
		`OPENTOKEN_METRIC = true`:                           `unknown key "OPENTOKEN_METRIC"; did you mean "OPENTOKEN_METRICS"?`,
		`GOOGLE_API_KEY = "x"`:                              `unknown key "GOOGLE_API_KEY" (the README's settings table lists the keys)`,
		"OPENTOKEN_ADDR = \"a\"\nOPENTOKEN_METRICS = tru\n": `:2:21: `,
		`OPENTOKEN_ADDR = "unterminated`:                    `:1:30: unexpected EOF`,
	} {
		path := write(body)
		_, err := Load(path, none)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want %q and the file's name", body, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "OPENTOKEN_ADDR, OPENTOKEN_API_KEYS") {
			t.Errorf("%s: the error lists every key: %v", body, err)
		}
	}
}
