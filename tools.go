//go:build tools

// Package tools pins the code generator's dependencies in go.mod, so that
// `go generate ./...` works from a fresh clone without a separate install.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/dave/jennifer/jen"
)
