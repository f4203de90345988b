package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
)

// TestAdjustedAndStrictOnEveryModel: on every chat model, what the
// generated tables say is clamped or served as another level comes back in
// X-OpenToken-Adjusted-Params, and strict mode refuses exactly the
// requests that would be dropped from or adjusted.
func TestAdjustedAndStrictOnEveryModel(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	post := func(body string, strict bool) *gatewaytest.Response {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		if strict {
			req.Header.Set("X-OpenToken-Strict", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return gatewaytest.ReadResponse(t, resp)
	}
	for _, m := range generated.Models {
		if m.Kind != matrix.KindChat {
			continue
		}
		for _, c := range []struct {
			extra  string
			params []matrix.Param
			effort bool
		}{
			{`"temperature":1.7,"max_tokens":10000000`, []matrix.Param{generated.ParamTemperature, generated.ParamMaxTokens}, false},
			{`"temperature":0.5,"seed":3`, []matrix.Param{generated.ParamTemperature, generated.ParamSeed}, false},
			{`"reasoning_effort":"xhigh","max_tokens":100000`, []matrix.Param{generated.ParamReasoningEffort, generated.ParamMaxTokens}, true},
		} {
			body := `{"model":"` + m.ID + `",` + okMessages + `,` + c.extra + `}`
			var present matrix.Mask
			for _, p := range c.params {
				present |= matrix.MaskOf(p)
			}
			forward := m.Filter(present, c.effort && m.Thinking.Style != matrix.ThinkingNone)
			var want []string
			if c.effort {
				if lvl := m.Thinking.Levels[matrix.EffortXHigh]; lvl != "" && strings.ToLower(lvl) != "xhigh" {
					want = append(want, "reasoning_effort=xhigh->"+strings.ToLower(lvl))
				}
			}
			if strings.Contains(c.extra, `"max_tokens":`) && m.Clamps[generated.ParamMaxTokens].Set {
				asked := c.extra[strings.Index(c.extra, `"max_tokens":`)+len(`"max_tokens":`):]
				if n, _ := strconv.Atoi(asked); n > m.MaxOutputTokens {
					want = append(want, "max_tokens="+asked+"->"+strconv.Itoa(m.MaxOutputTokens))
				}
			}
			if cl := m.Clamps[generated.ParamTemperature]; forward.Has(generated.ParamTemperature) && cl.Set && strings.Contains(c.extra, "1.7") {
				want = append(want, "temperature=1.7->"+strconv.FormatFloat(cl.Max, 'g', -1, 64))
			}
			r := post(body, false)
			if r.Status != 200 {
				t.Errorf("%s %s: %d %s", m.ID, c.extra, r.Status, r.Body)
				continue
			}
			if got := r.Header.Get("X-OpenToken-Adjusted-Params"); got != strings.Join(want, ",") {
				t.Errorf("%s %s: X-OpenToken-Adjusted-Params %q, want %q", m.ID, c.extra, got, strings.Join(want, ","))
			}
			changed := len(want) > 0 || r.Header.Get("X-OpenToken-Dropped-Params") != ""
			before := env.Anthropic.Requests.Count() + env.Gemini.Requests.Count()
			s := post(body, true)
			switch {
			case changed && (s.Status != 400 || !strings.Contains(string(s.Body), `"unsupported_parameter"`)):
				t.Errorf("%s %s strict: %d %s, want 400 unsupported_parameter", m.ID, c.extra, s.Status, s.Body)
			case changed && env.Anthropic.Requests.Count()+env.Gemini.Requests.Count() != before:
				t.Errorf("%s %s strict: a refused request reached the upstream", m.ID, c.extra)
			case !changed && s.Status != 200:
				t.Errorf("%s %s strict, nothing changed: %d %s", m.ID, c.extra, s.Status, s.Body)
			}
		}
	}
}

// TestCutBudgetIsAdjusted: a Claude thinking budget cut to fit below the
// client's max_tokens is reported like every other rewrite, whether the
// client gave the budget or an effort that stood for it, and the budget
// sent is the one reported.
func TestCutBudgetIsAdjusted(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Anthropic.Requests.Enable()
	m := generated.Lookup("anthropic/claude-sonnet-4-5")
	high := m.Thinking.Budgets[matrix.EffortHigh]
	for _, c := range []struct{ extra, want, sent string }{
		{`"reasoning_effort":"high","max_tokens":5000`, "reasoning.max_tokens=" + strconv.Itoa(high) + "->2500", `"budget_tokens":2500`},
		{`"reasoning":{"max_tokens":9000},"max_tokens":4000`, "reasoning.max_tokens=9000->2000", `"budget_tokens":2000`},
		{`"reasoning":{"max_tokens":500},"max_tokens":4000`, "reasoning.max_tokens=500->1024", `"budget_tokens":1024`}, // raised to the minimum, fits
		{`"reasoning_effort":"low","max_tokens":5000`, "", `"budget_tokens":2048`},                                     // fits as it is
	} {
		r := env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5",`+okMessages+`,`+c.extra+`}`)
		last, _ := env.Anthropic.Requests.Last()
		if got := r.Header.Get("X-OpenToken-Adjusted-Params"); r.Status != 200 || got != c.want || !strings.Contains(string(last.Body), c.sent) {
			t.Errorf("%s: %d, adjusted %q (want %q), sent %.200s", c.extra, r.Status, got, c.want, last.Body)
		}
	}
}
