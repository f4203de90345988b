//go:build tools

// Package tools pins, in go.mod, the code generator's dependencies and the
// tools the Makefile runs, so that a fresh clone needs no separate install:
// `go generate ./...`, `make lint` (staticcheck) and before/after
// benchmark comparisons (benchstat) all run through `go run`.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/dave/jennifer/jen"
	_ "golang.org/x/perf/cmd/benchstat"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
