package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/opentoken/opentoken/gateway"
	"github.com/opentoken/opentoken/server/adapter"
)

// defineCheckConfig: a configuration loaded and checked as serving would,
// described without starting anything or printing a key.
func defineCheckConfig(fs *flag.FlagSet) action {
	path := configFlag(fs)
	return func(_ context.Context, e *env, _ []string) error {
		cfg, err := gateway.Load(*path, e.getenv)
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
		_, err = fmt.Fprintf(e.stdout, "configuration OK\nlisten      %s\nclient keys %d\nanthropic   %s\ngemini      %s\nmetrics     %v\naccess log  %v\n",
			cfg.Addr, len(cfg.APIKeys), upstream(cfg.Anthropic), upstream(cfg.Gemini), cfg.Metrics, cfg.AccessLog)
		return err
	}
}
