package gateway

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/internal/suggest"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
)

// Config is every setting of the gateway.
type Config struct {
	Addr      string           // OPENTOKEN_ADDR
	APIKeys   []string         // OPENTOKEN_API_KEYS, comma-separated client keys
	Anthropic adapter.Upstream // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
	Gemini    adapter.Upstream // GEMINI_API_KEY, GEMINI_BASE_URL
	// Limits are the timeouts and size limits, one setting each (see
	// limitSettings); their defaults are the server's.
	server.Limits
	Metrics   bool // OPENTOKEN_METRICS: serve GET /metrics (default off)
	AccessLog bool // OPENTOKEN_ACCESS_LOG: a log line per request (default on)
	// AccessLogFlush is how long an access log line may wait to be written
	// with others (OPENTOKEN_ACCESS_LOG_FLUSH; default 1s, 0 for none).
	AccessLogFlush time.Duration
	LogFormat      string     // OPENTOKEN_LOG_FORMAT: text or json
	LogLevel       slog.Level // OPENTOKEN_LOG_LEVEL: debug, info, warn or error
	// PprofAddr is a loopback address to serve net/http/pprof on, "" for
	// none (OPENTOKEN_PPROF_ADDR).
	PprofAddr string
	// DatabaseURL is the tenancy database (OPENTOKEN_DATABASE_URL): ""
	// for the default, an SQLite file under the user's data directory.
	DatabaseURL string
	// CORSOrigins are the browser origins answered with CORS headers, and
	// whose preflights are answered without a key (OPENTOKEN_CORS_ORIGINS;
	// default none).
	CORSOrigins []string
	// SealingKey seals the reasoning the Responses door hands clients
	// (OPENTOKEN_SEALING_KEY, 32 bytes in base64); nil draws one once and
	// keeps it in the database, shared by the replicas.
	SealingKey []byte
	// Vertex is Vertex AI's settings; Vertex.Credentials "" for none.
	Vertex VertexSettings
	// Suppliers gives, per provider, the order its suppliers are tried
	// in (OPENTOKEN_SUPPLIERS_GOOGLE, OPENTOKEN_SUPPLIERS_ANTHROPIC); nil
	// for the default.
	Suppliers map[matrix.Provider][]string
	// OperatorRPM limits each operator key to that many requests per
	// minute on each replica (OPENTOKEN_OPERATOR_RPM); 0, the default, is
	// unlimited.
	OperatorRPM int64
	// ConsoleAddr serves the web console (OPENTOKEN_CONSOLE_ADDR); "" is
	// off, the default. A bare port (":9090") listens on loopback only.
	ConsoleAddr string
}

// VertexSettings are Vertex AI's settings.
type VertexSettings struct {
	Credentials string   // VERTEX_CREDENTIALS, else GOOGLE_APPLICATION_CREDENTIALS: a service-account key file
	Project     string   // VERTEX_PROJECT; "" for the key's project_id
	Locations   []string // VERTEX_LOCATIONS, each a supplier; default global
	BaseURL     string   // VERTEX_BASE_URL: one origin for every location; "" for Google's hosts
}

// Logger returns the logger the settings ask for, writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Defaults of the settings that are not limits.
const (
	DefaultAddr             = "127.0.0.1:8080"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultGeminiBaseURL    = "https://generativelanguage.googleapis.com"
	// DefaultAccessLogFlush is how long an access log line waits at most
	// to be written with others: under load, a write call a line was 4% of
	// the gateway's CPU; a second still reads as live to a person tailing
	// the log.
	DefaultAccessLogFlush = time.Second
)

// limitSetting binds one timeout or size setting to its field.
type limitSetting struct {
	key  string
	dur  func(*server.Limits) *time.Duration // a Go duration such as 30s
	size func(*server.Limits) *int           // a byte count
}

// limitSettings lists every timeout and limit, in the README's order.
var limitSettings = []limitSetting{
	{key: "OPENTOKEN_UPSTREAM_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.UpstreamTimeout }},
	{key: "OPENTOKEN_STREAM_IDLE_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.StreamIdleTimeout }},
	{key: "OPENTOKEN_HEADER_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.HeaderTimeout }},
	{key: "OPENTOKEN_READ_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.ReadTimeout }},
	{key: "OPENTOKEN_WRITE_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.WriteTimeout }},
	{key: "OPENTOKEN_IDLE_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.IdleTimeout }},
	{key: "OPENTOKEN_UPSTREAM_IDLE_CONN_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.UpstreamIdleConnTimeout }},
	{key: "OPENTOKEN_DRAIN_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.DrainTimeout }},
	{key: "OPENTOKEN_LINGER_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.LingerTimeout }},
	{key: "OPENTOKEN_MAX_BODY_BYTES", size: func(l *server.Limits) *int { return &l.MaxBodyBytes }},
	{key: "OPENTOKEN_MAX_HEADER_BYTES", size: func(l *server.Limits) *int { return &l.MaxHeaderBytes }},
	{key: "OPENTOKEN_MAX_RESPONSE_BYTES", size: func(l *server.Limits) *int { return &l.MaxResponseBytes }},
	{key: "OPENTOKEN_MAX_UPSTREAM_HEADER_BYTES", size: func(l *server.Limits) *int { return &l.MaxUpstreamHeaderBytes }},
	{key: "OPENTOKEN_MAX_SSE_LINE_BYTES", size: func(l *server.Limits) *int { return &l.MaxSSELineBytes }},
	{key: "OPENTOKEN_PROMPT_CACHE_ENTRIES", size: func(l *server.Limits) *int { return &l.PromptCacheEntries }},
	{key: "OPENTOKEN_FAILOVER_FIRST_BYTE_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.FailoverFirstByteTimeout }},
	{key: "OPENTOKEN_FAILOVER_BUDGET_PERCENT", size: func(l *server.Limits) *int { return &l.FailoverBudgetPercent }},
	{key: "OPENTOKEN_FAILOVER_BUDGET_MIN", size: func(l *server.Limits) *int { return &l.FailoverBudgetMin }},
	{key: "OPENTOKEN_BREAKER_FAILURES", size: func(l *server.Limits) *int { return &l.BreakerFailures }},
	{key: "OPENTOKEN_BREAKER_FAILURE_PERCENT", size: func(l *server.Limits) *int { return &l.BreakerFailurePercent }},
	{key: "OPENTOKEN_BREAKER_MIN_REQUESTS", size: func(l *server.Limits) *int { return &l.BreakerMinRequests }},
	{key: "OPENTOKEN_BREAKER_WINDOW", dur: func(l *server.Limits) *time.Duration { return &l.BreakerWindow }},
	{key: "OPENTOKEN_BREAKER_OPEN", dur: func(l *server.Limits) *time.Duration { return &l.BreakerOpen }},
	{key: "OPENTOKEN_BREAKER_MAX_OPEN", dur: func(l *server.Limits) *time.Duration { return &l.BreakerMaxOpen }},
	{key: "OPENTOKEN_COOLDOWN_429", dur: func(l *server.Limits) *time.Duration { return &l.Cooldown429 }},
	{key: "OPENTOKEN_FLEX_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.FlexTimeout }},
	{key: "OPENTOKEN_FETCH_MAX_BYTES", size: func(l *server.Limits) *int { return &l.FetchMaxBytes }},
	{key: "OPENTOKEN_FETCH_TIMEOUT", dur: func(l *server.Limits) *time.Duration { return &l.FetchTimeout }},
}

// Keys lists every setting's name, as an environment variable and a TOML key.
var Keys = func() []string {
	keys := []string{"OPENTOKEN_ADDR", "OPENTOKEN_API_KEYS", "OPENTOKEN_DATABASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
		"GEMINI_API_KEY", "GEMINI_BASE_URL", "OPENTOKEN_METRICS", "OPENTOKEN_ACCESS_LOG", "OPENTOKEN_ACCESS_LOG_FLUSH", "OPENTOKEN_LOG_FORMAT",
		"OPENTOKEN_LOG_LEVEL", "OPENTOKEN_PPROF_ADDR", "OPENTOKEN_CORS_ORIGINS",
		"VERTEX_CREDENTIALS", "VERTEX_PROJECT", "VERTEX_LOCATIONS", "VERTEX_BASE_URL",
		"OPENTOKEN_SUPPLIERS_GOOGLE", "OPENTOKEN_SUPPLIERS_ANTHROPIC", "OPENTOKEN_SEALING_KEY",
		"OPENTOKEN_OPERATOR_RPM", "OPENTOKEN_CONSOLE_ADDR"}
	for _, l := range limitSettings {
		keys = append(keys, l.key)
	}
	return keys
}()

// kind is the type of a setting's value, which a TOML file may give typed.
type kind int

const (
	kindText     kind = iota
	kindList          // comma-separated, or a TOML array of strings
	kindOnOff         // on/off, or a TOML boolean
	kindSize          // a byte count, or a TOML integer
	kindDuration      // a Go duration such as "30s", always a string
)

// kindOf is the kind of the setting key.
func kindOf(key string) kind {
	switch key {
	case "OPENTOKEN_API_KEYS", "OPENTOKEN_CORS_ORIGINS", "VERTEX_LOCATIONS", "OPENTOKEN_SUPPLIERS_GOOGLE", "OPENTOKEN_SUPPLIERS_ANTHROPIC":
		return kindList
	case "OPENTOKEN_METRICS", "OPENTOKEN_ACCESS_LOG":
		return kindOnOff
	case "OPENTOKEN_OPERATOR_RPM":
		return kindSize
	}
	for _, l := range limitSettings {
		if l.key == key && l.size != nil {
			return kindSize
		}
		if l.key == key {
			return kindDuration
		}
	}
	return kindText
}

// Load reads the TOML file at path (if path is not empty) and then the
// environment, which wins. getenv is os.Getenv outside tests.
func Load(path string, getenv func(string) string) (*Config, error) {
	values := map[string]string{}
	if path != "" {
		var err error
		if values, err = readFile(path); err != nil {
			return nil, err
		}
	}
	for _, k := range Keys {
		if v := getenv(k); v != "" {
			values[k] = v
		}
	}
	if values["VERTEX_CREDENTIALS"] == "" {
		// Google's own variable, as its SDKs read it.
		values["VERTEX_CREDENTIALS"] = getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	return parse(values)
}

// readFile reads a TOML configuration file into settings' texts, as the
// environment would give them. A syntax error is told by line and column,
// an unknown key with the closest valid one, a value of the wrong type
// with the type the setting takes.
func readFile(path string) (map[string]string, error) {
	raw := map[string]any{}
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s:%d:%d: %s", path, pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	values := map[string]string{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(Keys, k) {
			msg := fmt.Sprintf("config %s: unknown key %q", path, k)
			if s := suggest.Closest(k, Keys); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += " (the README's settings table lists the keys)"
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		v, err := text(k, raw[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("config %s: %w", path, err))
			continue
		}
		values[k] = v
	}
	return values, errors.Join(errs...)
}

// text is a TOML value as the environment would give it.
func text(key string, v any) (string, error) {
	k := kindOf(key)
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		if k == kindOnOff {
			return strconv.FormatBool(v), nil
		}
	case int64:
		if k == kindSize {
			return strconv.FormatInt(v, 10), nil
		}
	case []any:
		if k == kindList {
			parts := make([]string, len(v))
			for i, p := range v {
				s, ok := p.(string)
				if !ok {
					return "", fmt.Errorf("%s takes strings, and item %d is %v", key, i+1, p)
				}
				parts[i] = s
			}
			return strings.Join(parts, ","), nil
		}
	}
	want := map[kind]string{
		kindText:     "a string",
		kindList:     `an array of strings, or a string of comma-separated items`,
		kindOnOff:    `true or false (or "on" or "off")`,
		kindSize:     "a byte count (an integer)",
		kindDuration: `a duration string such as "30s"`,
	}[k]
	return "", fmt.Errorf("%s = %v: want %s", key, v, want)
}

func parse(v map[string]string) (*Config, error) {
	c := &Config{
		Addr:      or(v["OPENTOKEN_ADDR"], DefaultAddr),
		Anthropic: adapter.Upstream{APIKey: v["ANTHROPIC_API_KEY"], BaseURL: or(v["ANTHROPIC_BASE_URL"], DefaultAnthropicBaseURL)},
		Gemini:    adapter.Upstream{APIKey: v["GEMINI_API_KEY"], BaseURL: or(v["GEMINI_BASE_URL"], DefaultGeminiBaseURL)},
	}
	c.Limits = c.Limits.WithDefaults()
	var errs []error
	var err error
	if c.Metrics, err = onOff("OPENTOKEN_METRICS", v["OPENTOKEN_METRICS"], false); err != nil {
		errs = append(errs, err)
	}
	if c.AccessLog, err = onOff("OPENTOKEN_ACCESS_LOG", v["OPENTOKEN_ACCESS_LOG"], true); err != nil {
		errs = append(errs, err)
	}
	c.AccessLogFlush = DefaultAccessLogFlush
	if f := v["OPENTOKEN_ACCESS_LOG_FLUSH"]; f != "" {
		if c.AccessLogFlush, err = time.ParseDuration(f); err != nil || c.AccessLogFlush < 0 {
			errs = append(errs, fmt.Errorf("OPENTOKEN_ACCESS_LOG_FLUSH=%q: want a duration such as 1s, or 0 to write each line at once", f))
		}
	}
	switch c.LogFormat = or(v["OPENTOKEN_LOG_FORMAT"], "text"); c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("OPENTOKEN_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(v["OPENTOKEN_LOG_LEVEL"], "info"))); err != nil {
		errs = append(errs, fmt.Errorf("OPENTOKEN_LOG_LEVEL=%q: want debug, info, warn or error", v["OPENTOKEN_LOG_LEVEL"]))
	}
	for _, k := range strings.Split(v["OPENTOKEN_API_KEYS"], ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	for _, o := range strings.Split(v["OPENTOKEN_CORS_ORIGINS"], ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		origin, err := Origin(o)
		if err != nil || origin != o {
			errs = append(errs, fmt.Errorf("OPENTOKEN_CORS_ORIGINS: %q is not an origin such as https://app.example.com (scheme and host, no path, no trailing slash)", o))
			continue
		}
		c.CORSOrigins = append(c.CORSOrigins, o)
	}
	if k := v["OPENTOKEN_SEALING_KEY"]; k != "" {
		key, err := seal.ParseKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("OPENTOKEN_SEALING_KEY: %w", err))
		}
		c.SealingKey = key
	}
	c.Vertex = VertexSettings{Credentials: v["VERTEX_CREDENTIALS"], Project: v["VERTEX_PROJECT"], Locations: list(v["VERTEX_LOCATIONS"])}
	if len(c.Vertex.Locations) == 0 {
		c.Vertex.Locations = []string{"global"}
	}
	for _, l := range c.Vertex.Locations {
		if !validLocation(l) {
			errs = append(errs, fmt.Errorf("VERTEX_LOCATIONS: %q is not a location such as global or us-central1", l))
		}
	}
	if b := v["VERTEX_BASE_URL"]; b != "" {
		origin, err := Origin(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("VERTEX_BASE_URL: %w", err))
		}
		c.Vertex.BaseURL = origin
	}
	for key, p := range map[string]matrix.Provider{"OPENTOKEN_SUPPLIERS_GOOGLE": matrix.ProviderGoogle, "OPENTOKEN_SUPPLIERS_ANTHROPIC": matrix.ProviderAnthropic} {
		if names := list(v[key]); len(names) > 0 {
			if c.Suppliers == nil {
				c.Suppliers = map[matrix.Provider][]string{}
			}
			c.Suppliers[p] = names
		}
	}
	c.DatabaseURL = v["OPENTOKEN_DATABASE_URL"]
	if rpm := v["OPENTOKEN_OPERATOR_RPM"]; rpm != "" {
		n, err := strconv.ParseInt(rpm, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("OPENTOKEN_OPERATOR_RPM=%q: want a count of requests per minute, 0 for unlimited", rpm))
		}
		c.OperatorRPM = n
	}
	if c.ConsoleAddr = v["OPENTOKEN_CONSOLE_ADDR"]; c.ConsoleAddr != "" {
		host, port, err := net.SplitHostPort(c.ConsoleAddr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("OPENTOKEN_CONSOLE_ADDR=%q: want host:port, or :port for loopback only", c.ConsoleAddr))
		case host == "":
			c.ConsoleAddr = net.JoinHostPort("127.0.0.1", port) // explicit hosts only are public
		}
	}
	if c.PprofAddr = v["OPENTOKEN_PPROF_ADDR"]; c.PprofAddr != "" && !loopback(c.PprofAddr) {
		errs = append(errs, fmt.Errorf("OPENTOKEN_PPROF_ADDR=%q: want a loopback address such as 127.0.0.1:6060; profiles must not be public", c.PprofAddr))
	}
	for _, l := range limitSettings {
		s := v[l.key]
		if s == "" {
			continue
		}
		if l.dur != nil {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30s", l.key, s))
			}
			*l.dur(&c.Limits) = d
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive byte count", l.key, s))
		}
		*l.size(&c.Limits) = n
	}
	for _, u := range []struct {
		name string
		up   *adapter.Upstream
	}{{"ANTHROPIC_BASE_URL", &c.Anthropic}, {"GEMINI_BASE_URL", &c.Gemini}} {
		origin, err := Origin(u.up.BaseURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
		u.up.BaseURL = origin
	}
	return c, errors.Join(errs...)
}

// Origin checks that s is an http(s) origin and returns it without a
// trailing slash; the adapters append the API paths.
func Origin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) origin such as https://api.anthropic.com", s)
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" || u.RawQuery != "" {
		return "", fmt.Errorf("%q has a path; give only the origin, the gateway appends the API path", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// loopback reports whether addr is host:port on a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// onOff reads an on/off setting; empty is def.
func onOff(key, v string, def bool) (bool, error) {
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return def, fmt.Errorf("%s=%q: want on or off", key, v)
}

// list splits a comma-separated setting, without blanks.
func list(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
