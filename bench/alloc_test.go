//go:build !race

package bench

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
	"github.com/opentoken/opentoken/server/openai"
)

// Allocation budgets of the translation stages, pinned so that a regression
// fails a test instead of going unnoticed. The request stage allocates for
// what goccy/go-json must build (messages, content parts, a pointer per
// present scalar); the filter, the lookup and the upstream body writer add
// nothing (see gen's TestNoAllocations and internal/jsonw).
const (
	requestAllocBudget  = 32
	responseAllocBudget = 4
)

func TestTranslationAllocations(t *testing.T) {
	for _, m := range models {
		body := loadtest.GatewayRequest(m.id)
		var req fasthttp.Request
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(200, func() { sinkBytes = translateRequest(body, m.adapter, &req, buf) }); n > requestAllocBudget {
			t.Errorf("%s: request translation allocates %v times, budget %d", m.name, n, requestAllocBudget)
		}
		upstream, call := []byte(m.response), plainCall(m.id)
		if n := testing.AllocsPerRun(200, func() {
			var c openai.Completion
			_ = m.adapter.ParseResponse(call, upstream, &c)
			sinkBytes = openai.AppendCompletion(buf[:0], "chatcmpl-x", 1, m.id, &c, true)
		}); n > responseAllocBudget {
			t.Errorf("%s: response translation allocates %v times, budget %d", m.name, n, responseAllocBudget)
		}
	}
}
