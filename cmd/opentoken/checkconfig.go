package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/opentoken/opentoken/gateway"
	"github.com/opentoken/opentoken/server/adapter"
)

// defineCheckConfig: a configuration checked as serving would check it,
// through the same code (gateway.Inspect), and described without starting
// anything or printing a key.
func defineCheckConfig(fs *flag.FlagSet) action {
	path := configFlag(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		cfg, err := gateway.Load(*path, e.getenv)
		if err != nil {
			return err
		}
		in, err := gateway.Inspect(ctx, cfg)
		if err != nil {
			return err
		}
		upstream := func(u adapter.Upstream) string {
			if u.APIKey == "" {
				return "the built-in emulator"
			}
			return u.BaseURL
		}
		schema := fmt.Sprintf("schema %d of %d", in.Schema.Version, in.Schema.Latest)
		if in.Schema.Version < in.Schema.Latest {
			schema += ": serving migrates it"
		}
		cors := "none"
		if len(cfg.CORSOrigins) > 0 {
			cors = strings.Join(cfg.CORSOrigins, ", ")
		}
		vertex := "not configured"
		if in.VertexProject != "" {
			vertex = "project " + in.VertexProject + ", locations " + strings.Join(cfg.Vertex.Locations, ",")
		}
		_, err = fmt.Fprintf(e.stdout, "configuration OK\nlisten      %s\ndatabase    %s (%s)\nclient keys %d\nanthropic   %s\ngemini      %s\nvertex      %s\nmetrics     %v\naccess log  %v\ncors        %s\n\nmodel → suppliers in order, with the model's id at each:\n%s\n",
			cfg.Addr, in.Database, schema, len(cfg.APIKeys), upstream(cfg.Anthropic), upstream(cfg.Gemini), vertex, cfg.Metrics, cfg.AccessLog, cors,
			strings.Join(in.Routes, "\n"))
		return err
	}
}
