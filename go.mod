module github.com/opentoken/opentoken

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/dave/jennifer v1.7.1
	github.com/goccy/go-json v0.12.0
)
