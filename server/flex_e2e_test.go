package server_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// flexAnswer is what a flex test reads of an answer.
type flexAnswer struct {
	ServiceTier string `json:"service_tier"`
	Usage       struct {
		Prompt     int64   `json:"prompt_tokens"`
		Completion int64   `json:"completion_tokens"`
		Cost       float64 `json:"cost"`
	} `json:"usage"`
}

// TestFlexLane: service_tier "flex" on a Google chat model goes first to
// the supplier serving the flex lane (Vertex's global location) with
// Vertex's two headers, is echoed as served, and costs the spec's flex
// prices — in the answer and in the ledger. Failing over to a supplier
// without the lane, it runs standard, is billed standard and reported
// dropped; Claude models and regional locations never get the headers.
func TestFlexLane(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.Migrate(ctx)
	_, _ = db.CreateWorkspace(ctx, "acme")
	_ = db.AddCredit(ctx, "acme", store.FromDollars(10), "test")
	_, secret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "app"})
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(t.TempDir(), "spill"), Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn, Limits: server.Limits{Cooldown429: time.Nanosecond},
		Suppliers: func(env *gatewaytest.Env) map[matrix.Provider][]adapter.Upstream {
			return map[matrix.Provider][]adapter.Upstream{
				matrix.ProviderGoogle:    {env.Supplier("gemini"), env.Supplier("vertex:us-central1"), env.Supplier("vertex:global")},
				matrix.ProviderAnthropic: {env.Supplier("anthropic"), env.Supplier("vertex:global")},
			}
		}})
	m := generated.Lookup("google/gemini-2.5-pro")
	ask := func(model, tier string) (*gatewaytest.Response, flexAnswer) {
		r := env.Do(t, "POST", "/v1/chat/completions", secret, []byte(`{"model":"`+model+`",`+okMessages+`,"service_tier":"`+tier+`"}`))
		var a flexAnswer
		_ = json.Unmarshal(r.Body, &a)
		return r, a
	}
	cost := func(a flexAnswer, p *matrix.Pricing) float64 {
		return (float64(a.Usage.Prompt)*p.Input + float64(a.Usage.Completion)*p.Output) / 1e6
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

	r, a := ask(m.ID, "flex")
	last, _ := env.Vertex.Requests.Last()
	switch {
	case r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:global":
		t.Fatalf("flex: %d %s, supplier %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"))
	case last.Header["x-vertex-ai-llm-shared-request-type"] != "flex" || last.Header["x-vertex-ai-llm-request-type"] != "shared":
		t.Errorf("flex: Vertex got headers %v", last.Header)
	case a.ServiceTier != "flex" || !near(a.Usage.Cost, cost(a, m.Pricing.Flex)) || near(a.Usage.Cost, cost(a, &m.Pricing)):
		t.Errorf("flex: service_tier %q, cost %v; want flex at %v (standard %v)", a.ServiceTier, a.Usage.Cost, cost(a, m.Pricing.Flex), cost(a, &m.Pricing))
	case strings.Contains(r.Header.Get("X-OpenToken-Dropped-Params"), "service_tier"):
		t.Errorf("flex honoured, yet reported dropped")
	}
	flexCost := a.Usage.Cost

	// The lane throttled: the next supplier, standard.
	env.Vertex.Faults.Push(emulator.Fault{Status: 429, Body: vertexExhausted})
	r, a = ask(m.ID, "flex")
	if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "gemini" || a.ServiceTier != "default" ||
		!near(a.Usage.Cost, cost(a, &m.Pricing)) || !strings.Contains(r.Header.Get("X-OpenToken-Dropped-Params"), "service_tier") {
		t.Errorf("flex failing over: %d, supplier %q, tier %q, cost %v, dropped %q", r.Status, r.Header.Get("X-OpenToken-Supplier"),
			a.ServiceTier, a.Usage.Cost, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	standardCost := a.Usage.Cost

	// A standard request: the configured order, no header.
	before := env.Vertex.Requests.Count()
	if r, a := ask(m.ID, "default"); r.Header.Get("X-OpenToken-Supplier") != "gemini" || a.ServiceTier != "default" || env.Vertex.Requests.Count() != before {
		t.Errorf("service_tier default: supplier %q, tier %q", r.Header.Get("X-OpenToken-Supplier"), a.ServiceTier)
	}
	// Claude: no flex lane; dropped, not echoed, no header.
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded})
	r, a = ask("anthropic/claude-haiku-4-5", "flex")
	last, _ = env.Vertex.Requests.Last()
	if r.Status != 200 || a.ServiceTier != "" || last.Header["x-vertex-ai-llm-shared-request-type"] != "" ||
		!strings.Contains(r.Header.Get("X-OpenToken-Dropped-Params"), "service_tier") {
		t.Errorf("flex on Claude: %d, tier %q, headers %v, dropped %q", r.Status, a.ServiceTier, last.Header, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	// The ledger bills each at the lane that served it.
	tn.Flush()
	rows, _ := db.Usage(ctx, store.UsageFilter{})
	var billed float64
	for _, row := range rows {
		if row.Model == m.ID {
			billed += row.Cost.Dollars()
		}
	}
	if !near(billed, flexCost+2*standardCost) {
		t.Errorf("the ledger billed %v for gemini-2.5-pro, want %v (one flex, two standard)", billed, flexCost+2*standardCost)
	}
}
