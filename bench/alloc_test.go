//go:build !race

package bench

import (
	"time"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"

	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// Allocation budgets of the translation stages, pinned so that a regression
// fails a test instead of going unnoticed. The request stage allocates five
// times: the request, the call, the messages, one block for the present
// scalars (with room for up to four stop sequences) and the one escaped
// string of the request; the filter, the lookup, the upstream URI and body
// writer add nothing (see gen's TestNoAllocations and internal/jsonw). A
// tool-heavy request (20 tools, a 6-turn history) adds its functions, each
// call's arguments and the history (the list the tools are read into is
// recycled). Before the one-pass decoder (issue 23): 30–31, 3 and 78–119.
const (
	requestAllocBudget     = 5
	responseAllocBudget    = 3
	toolRequestAllocBudget = 25
)

func TestTranslationAllocations(t *testing.T) {
	for _, m := range models {
		body := loadtest.GatewayRequest(m.id)
		var req fasthttp.Request
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(200, func() { sinkBytes = translateRequest(body, m.adapter, &req, buf) }); n > requestAllocBudget {
			t.Errorf("%s: request translation allocates %v times, budget %d", m.name, n, requestAllocBudget)
		}
		tools := toolRequest(m.id)
		tbuf := make([]byte, 0, 16384)
		if n := testing.AllocsPerRun(100, func() { sinkBytes = translateRequest(tools, m.adapter, &req, tbuf) }); n > toolRequestAllocBudget {
			t.Errorf("%s: tool-heavy request translation allocates %v times, budget %d", m.name, n, toolRequestAllocBudget)
		}
		upstream, call := []byte(m.response), plainCall(m.id)
		if n := testing.AllocsPerRun(200, func() {
			var c llm.Completion
			_ = m.adapter.ParseResponse(call, upstream, &c)
			sinkBytes = openai.AppendCompletion(buf[:0], "chatcmpl-x", 1, m.id, &c, true)
		}); n > responseAllocBudget {
			t.Errorf("%s: response translation allocates %v times, budget %d", m.name, n, responseAllocBudget)
		}
	}
}

// TestStreamEventAllocations: a stream event is translated without
// allocating (a Gemini stream reads every chunk's candidates and parts into
// the same slices).
func TestStreamEventAllocations(t *testing.T) {
	budgets := map[string]float64{"claude-text-delta": 0, "gemini-chunk": 0}
	for _, ev := range streamEvents {
		call := &adapter.Call{Model: generated.Lookup(ev.id), Req: &llm.Request{}}
		prefix := openai.NewChunkPrefix(nil, "chatcmpl-0123456789abcdef01234567", 1730000000, ev.id)
		st := ev.adapter.NewStream(call, &openai.ChunkWriter{Prefix: prefix, Exclude: call.Thinking.Exclude, Legacy: call.Legacy()})
		name, data := []byte(ev.event), []byte(ev.data)
		out := make([]byte, 0, 1024)
		if n := testing.AllocsPerRun(200, func() { out, _ = st.Event(out[:0], name, data) }); n > budgets[ev.name] {
			t.Errorf("%s: a stream event allocates %v times, budget %v", ev.name, n, budgets[ev.name])
		}
	}
}

// TestAttemptLoopAllocations: a request its first supplier serves costs
// the same allocations whether the model has one supplier or two (the
// attempt loop, its breaker and the failover budget allocate nothing on
// that path).
func TestAttemptLoopAllocations(t *testing.T) {
	mock := serve(t, loadtest.NewMock(0, 600, 8).Handle)
	body := loadtest.GatewayRequest("anthropic/claude-sonnet-4-5")
	roundTrip := func(addr string) float64 {
		client := &fasthttp.Client{}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/v1/chat/completions")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer k")
		req.SetBodyRaw(body)
		do := func() {
			if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
			}
		}
		do() // connections and pools warm
		return testing.AllocsPerRun(200, do)
	}
	one := roundTrip(gatewayOf(t, mock, false, nil, false))
	two := roundTrip(gatewayOf(t, mock, false, nil, true))
	t.Logf("allocations a round trip: %v with one supplier, %v with two", one, two)
	if one > roundTripAllocBudget {
		t.Errorf("a round trip allocates %v times, budget %d", one, roundTripAllocBudget)
	}
	if two > one {
		t.Errorf("a round trip allocates %v times with two suppliers, %v with one", two, one)
	}
}

// roundTripAllocBudget is what one in-process round trip allocates, the
// client's and the mock's allocations included (14 before the request's
// neutral form moved into the pooled per-request record, issue 23).
const roundTripAllocBudget = 8

// TestDoorRequestAllocations: the same conversation through each door to
// Claude's upstream body (decode, validate, filter, write), as
// BenchmarkDoor measures it. The Messages door allocated 14 times before
// its one-pass reader, the Responses door 7 before its items' (issue 23).
func TestDoorRequestAllocations(t *testing.T) {
	m := generated.Lookup("anthropic/claude-sonnet-4-6")
	var req fasthttp.Request
	buf := make([]byte, 0, 4096)
	for door, budget := range map[string]float64{"chat": 4, "messages": 6, "responses": 6} {
		if n := testing.AllocsPerRun(200, func() {
			if e := doorRequest(door, m, &req, buf); e != nil {
				t.Fatal(e.Message)
			}
		}); n > budget {
			t.Errorf("%s door: a request allocates %v times, budget %v", door, n, budget)
		}
	}
}

// TestTenancyCheckAllocations: checking an issued key (with a spend
// limit and its lease) allocates nothing, as BenchmarkTenancy reports.
func TestTenancyCheckAllocations(t *testing.T) {
	tn, secret := issuedKey(t)
	key, now := []byte(secret), time.Now()
	if _, err := tn.Check(key, now); err != nil { // the lease's first share
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if _, err := tn.Check(key, now); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("a key check allocates %v times, want 0", n)
	}
}
