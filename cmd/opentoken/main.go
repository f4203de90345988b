// Command opentoken runs the OpenToken gateway, or its upstream emulators.
//
//	opentoken [--config FILE]                     serve the gateway
//	opentoken emulate [--anthropic ADDR] [--gemini ADDR] [--key KEY]
//	                                              serve the strict emulators alone
//	opentoken check-config [--config FILE]        check a configuration and exit
//	opentoken workspaces|keys|credits|usage ...  manage tenancy (see --help)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
	"github.com/opentoken/opentoken/gateway"
	"github.com/opentoken/opentoken/server/adapter"
)

// gcPercent is the garbage collector's target unless GOGC is set. The
// gateway's heap is small and short-lived (a few KB per request), so the
// default of 100 collects many times a second under load; a higher target
// trades RSS for CPU. Each client connection has a 16 KiB head buffer
// (issue 8), returned to a pool between requests; with that, 300 kept the
// peak RSS of the load harness at 40 MB until the database drivers were
// linked in (now ~50 MB, bench/RESULTS.md).
const gcPercent = 300

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "emulate":
		err = emulate(ctx, os.Args[2:], slog.New(slog.NewTextHandler(os.Stderr, nil)), nil)
	case len(os.Args) > 1 && os.Args[1] == "check-config":
		err = checkConfig(os.Args[2:], os.Getenv, os.Stdout)
	case len(os.Args) > 1 && (os.Args[1] == "workspaces" || os.Args[1] == "keys" || os.Args[1] == "credits" || os.Args[1] == "usage"):
		err = admin(ctx, os.Args[1], os.Args[2:], os.Getenv, os.Stdout)
	default:
		err = serve(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "opentoken:", err)
		os.Exit(1)
	}
}

// serve runs the gateway until ctx ends; its log has the configured format
// and level.
func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("opentoken", flag.ContinueOnError)
	path := fs.String("config", "", "a TOML file whose keys are the environment variables' names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := gateway.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	g, err := gateway.Start(cfg, cfg.Logger(os.Stderr))
	if err != nil {
		return err
	}
	return g.Run(ctx)
}

// checkConfig loads a configuration as serve would, checks it, and says
// what it would serve, without starting anything or printing a key.
func checkConfig(args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("opentoken check-config", flag.ContinueOnError)
	path := fs.String("config", "", "a TOML file whose keys are the environment variables' names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := gateway.Load(*path, getenv)
	if err != nil {
		return err
	}
	if err := gateway.Check(cfg); err != nil {
		return err
	}
	upstream := func(u adapter.Upstream) string {
		if u.APIKey == "" {
			return "the built-in emulator"
		}
		return u.BaseURL
	}
	fmt.Fprintf(out, "configuration OK\nlisten      %s\nclient keys %d\nanthropic   %s\ngemini      %s\nmetrics     %v\naccess log  %v\n",
		cfg.Addr, len(cfg.APIKeys), upstream(cfg.Anthropic), upstream(cfg.Gemini), cfg.Metrics, cfg.AccessLog)
	return nil
}

// emulate serves the strict Anthropic and Gemini emulators on their own, so
// that applications can run their tests offline against upstream-shaped APIs.
// ready, when not nil, is told the emulators' URLs once they listen.
func emulate(ctx context.Context, args []string, log *slog.Logger, ready func(urls []string)) error {
	fs := flag.NewFlagSet("opentoken emulate", flag.ContinueOnError)
	anthropicAddr := fs.String("anthropic", "127.0.0.1:8081", "listen address of the Anthropic Messages emulator (empty: off)")
	geminiAddr := fs.String("gemini", "127.0.0.1:8082", "listen address of the Gemini emulator (empty: off)")
	key := fs.String("key", "emulator-key", "the API key the emulators accept")
	if err := fs.Parse(args); err != nil {
		return err
	}
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
	if ready != nil {
		urls := make([]string, len(servers))
		for i, s := range servers {
			urls[i] = s.URL
		}
		ready(urls)
	}
	<-ctx.Done()
	return nil
}
