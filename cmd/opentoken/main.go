// Command opentoken runs the OpenToken gateway, its upstream emulators,
// and the tenancy commands; `opentoken help` lists them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
	emuvertex "github.com/opentoken/opentoken/emulator/vertex"
	"github.com/opentoken/opentoken/gateway"
)

// main leaves the garbage collector's target at Go's default (GOGC=100)
// unless GOGC is set. A request leaves ≈ 1.5 KB of garbage now; at that
// rate a higher target (300 until issue 23) bought no CPU measurable above
// this machine's noise for 13 MB more resident under load
// (bench/PROFILE.md).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], &env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// configFlag declares --config, which every command that reads the
// settings takes.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "a TOML `FILE` whose keys are the environment variables' names")
}

// defineServe: the gateway, until SIGINT or SIGTERM; its log has the
// configured format and level.
func defineServe(fs *flag.FlagSet) action {
	path := configFlag(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		cfg, err := gateway.Load(*path, e.getenv)
		if err != nil {
			return err
		}
		g, err := gateway.Start(cfg, cfg.Logger(e.stderr))
		if err != nil {
			return err
		}
		return g.Run(ctx)
	}
}

// defineEmulate: the strict Anthropic and Gemini emulators on their own,
// so that applications can run their tests offline against upstream-shaped
// APIs.
func defineEmulate(fs *flag.FlagSet) action {
	anthropicAddr := fs.String("anthropic", "127.0.0.1:8081", "listen `ADDR`ess of the Anthropic Messages emulator (empty: off)")
	geminiAddr := fs.String("gemini", "127.0.0.1:8082", "listen `ADDR`ess of the Gemini emulator (empty: off)")
	key := fs.String("key", "emulator-key", "the API `KEY` the emulators accept")
	vertexAddr := fs.String("vertex", "", "listen `ADDR`ess of the Vertex AI emulator, with its OAuth token endpoint (empty: off)")
	vertexKey := fs.String("vertex-credentials", "", "the `FILE` the Vertex emulator writes its service account's JSON key to (its token_uri is the emulator)")
	vertexProject := fs.String("vertex-project", "opentoken-emulated", "the Google Cloud `PROJECT` the Vertex emulator serves")
	vertexTTL := fs.Duration("vertex-token-ttl", emuvertex.DefaultTokenTTL, "the lifetime of the access tokens the Vertex emulator issues")
	return func(ctx context.Context, e *env, _ []string) error {
		if (*vertexAddr == "") != (*vertexKey == "") {
			return &usageError{msg: "--vertex and --vertex-credentials go together: the key file is how a client reaches the emulator"}
		}
		log := slog.New(slog.NewTextHandler(e.stderr, nil))
		var servers []*emulator.Server
		defer func() {
			for _, s := range servers {
				_ = s.Close()
			}
		}()
		if *anthropicAddr != "" {
			s, err := emulator.Start(*anthropicAddr, emuanthropic.New(*key).Handle)
			if err != nil {
				return err
			}
			servers = append(servers, s)
			log.Info("Anthropic Messages emulator", "url", s.URL, "path", "/v1/messages", "x-api-key", "(--key)")
		}
		if *geminiAddr != "" {
			s, err := emulator.Start(*geminiAddr, emugemini.New(*key).Handle)
			if err != nil {
				return err
			}
			servers = append(servers, s)
			log.Info("Gemini emulator", "url", s.URL, "path", "/v1beta/models/{model}:generateContent", "x-goog-api-key", "(--key)")
		}
		if *vertexAddr != "" {
			v, err := emuvertex.New(*vertexProject)
			if err != nil {
				return err
			}
			v.TokenTTL = *vertexTTL
			s, err := emulator.Start(*vertexAddr, v.Handle)
			if err != nil {
				return err
			}
			servers = append(servers, s)
			if err := os.WriteFile(*vertexKey, v.Credentials(s.URL), 0o600); err != nil {
				return fmt.Errorf("--vertex-credentials: %w", err)
			}
			log.Info("Vertex AI emulator", "url", s.URL, "project", v.Project, "credentials", *vertexKey,
				"path", "/v1/projects/{project}/locations/{location}/publishers/{google|anthropic}/models/{model}:{method}")
		}
		if e.ready != nil {
			urls := make([]string, len(servers))
			for i, s := range servers {
				urls[i] = s.URL
			}
			e.ready(urls)
		}
		<-ctx.Done()
		return nil
	}
}

// defineVersion: the module's version and the VCS revision the binary was
// built from, as the build recorded them.
func defineVersion(*flag.FlagSet) action {
	return func(_ context.Context, e *env, _ []string) error {
		_, err := fmt.Fprintln(e.stdout, version())
		return err
	}
}

// version describes the build: "opentoken v1.2.3 (revision 0123abc…,
// 2026-12-06T09:00:00Z, modified) go1.26 linux/amd64".
func version() string {
	v, rev, at, modified := "(unknown)", "", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		v = info.Main.Version
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "opentoken " + v
	if rev != "" {
		out += " (revision " + rev
		if at != "" {
			out += ", " + at
		}
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	return out + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
