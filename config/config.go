// Package config reads the gateway's settings from the environment and an
// optional TOML file whose keys are the environment variables' names.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is every setting of the gateway.
type Config struct {
	Addr            string        // OPENTOKEN_ADDR
	APIKeys         []string      // OPENTOKEN_API_KEYS, comma-separated client keys
	Anthropic       Upstream      // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
	Gemini          Upstream      // GEMINI_API_KEY, GEMINI_BASE_URL
	UpstreamTimeout time.Duration // OPENTOKEN_UPSTREAM_TIMEOUT, a Go duration
	// StreamIdleTimeout bounds a streaming upstream's silence
	// (OPENTOKEN_STREAM_IDLE_TIMEOUT).
	StreamIdleTimeout time.Duration
	MaxBodyBytes      int // OPENTOKEN_MAX_BODY_BYTES
}

// Upstream is one provider's endpoint and credential.
type Upstream struct {
	APIKey  string
	BaseURL string // an origin: scheme://host[:port]
}

// Defaults.
const (
	DefaultAddr             = "127.0.0.1:8080"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultGeminiBaseURL    = "https://generativelanguage.googleapis.com"
	DefaultUpstreamTimeout  = 120 * time.Second
	// DefaultStreamIdleTimeout outlasts Anthropic's pings and a thinking
	// model's pause before its first token.
	DefaultStreamIdleTimeout = 60 * time.Second
	// DefaultMaxBodyBytes matches Anthropic's 32 MB request limit, the
	// smaller of the two upstreams'.
	DefaultMaxBodyBytes = 32 << 20
)

// Keys lists every setting's name, as an environment variable and a TOML key.
var Keys = []string{
	"OPENTOKEN_ADDR", "OPENTOKEN_API_KEYS", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
	"GEMINI_API_KEY", "GEMINI_BASE_URL", "OPENTOKEN_UPSTREAM_TIMEOUT", "OPENTOKEN_STREAM_IDLE_TIMEOUT",
	"OPENTOKEN_MAX_BODY_BYTES",
}

// Load reads the TOML file at path (if path is not empty) and then the
// environment, which wins. getenv is os.Getenv outside tests.
func Load(path string, getenv func(string) string) (*Config, error) {
	values := map[string]string{}
	if path != "" {
		raw := map[string]any{}
		if _, err := toml.DecodeFile(path, &raw); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		for k, v := range raw {
			if !known(k) {
				return nil, fmt.Errorf("config %s: unknown key %q; the keys are %s", path, k, strings.Join(Keys, ", "))
			}
			switch v := v.(type) {
			case string:
				values[k] = v
			case int64:
				values[k] = strconv.FormatInt(v, 10)
			case []any:
				parts := make([]string, len(v))
				for i, p := range v {
					parts[i] = fmt.Sprint(p)
				}
				values[k] = strings.Join(parts, ",")
			default:
				return nil, fmt.Errorf("config %s: %s must be a string", path, k)
			}
		}
	}
	for _, k := range Keys {
		if v := getenv(k); v != "" {
			values[k] = v
		}
	}
	return parse(values)
}

func known(k string) bool {
	for _, x := range Keys {
		if x == k {
			return true
		}
	}
	return false
}

func parse(v map[string]string) (*Config, error) {
	c := &Config{
		Addr:              or(v["OPENTOKEN_ADDR"], DefaultAddr),
		Anthropic:         Upstream{APIKey: v["ANTHROPIC_API_KEY"], BaseURL: or(v["ANTHROPIC_BASE_URL"], DefaultAnthropicBaseURL)},
		Gemini:            Upstream{APIKey: v["GEMINI_API_KEY"], BaseURL: or(v["GEMINI_BASE_URL"], DefaultGeminiBaseURL)},
		UpstreamTimeout:   DefaultUpstreamTimeout,
		StreamIdleTimeout: DefaultStreamIdleTimeout,
		MaxBodyBytes:      DefaultMaxBodyBytes,
	}
	for _, k := range strings.Split(v["OPENTOKEN_API_KEYS"], ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	var errs []error
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"OPENTOKEN_UPSTREAM_TIMEOUT", &c.UpstreamTimeout}, {"OPENTOKEN_STREAM_IDLE_TIMEOUT", &c.StreamIdleTimeout}} {
		if s := v[d.key]; s != "" {
			dur, err := time.ParseDuration(s)
			if err != nil || dur <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 120s", d.key, s))
			}
			*d.dst = dur
		}
	}
	if s := v["OPENTOKEN_MAX_BODY_BYTES"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("OPENTOKEN_MAX_BODY_BYTES=%q: want a positive byte count", s))
		}
		c.MaxBodyBytes = n
	}
	for _, u := range []struct {
		name string
		up   *Upstream
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

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
