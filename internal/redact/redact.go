// Package redact keeps configured secrets out of everything the gateway
// says: an upstream that quotes the request's headers in an error message
// would otherwise hand the gateway's own API key to a client or a log.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Placeholder replaces each secret.
const Placeholder = "[REDACTED]"

// Redactor replaces a fixed set of secrets in text. A nil *Redactor
// replaces nothing.
type Redactor struct {
	r *strings.Replacer
}

// New returns a Redactor of the non-empty secrets.
func New(secrets ...string) *Redactor {
	var pairs []string
	// Longer secrets first, so that a secret that contains another is
	// replaced whole.
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range slices.Compact(secrets) {
		if s != "" {
			pairs = append(pairs, s, Placeholder)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Handler wraps h so that no record it handles carries a secret, in its
// message or in any attribute, however deep.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	if r == nil {
		return h
	}
	return &handler{inner: h, r: r}
}

type handler struct {
	inner slog.Handler
	r     *Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{inner: h.inner.WithAttrs(clean), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), r: h.r}
}

// attr redacts one attribute: strings are replaced, groups walked, and any
// other value that is not a number, a bool, a time or a duration is
// rendered as text first (an error or a panic value may quote a secret).
func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, h.r.String(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
