package adapter

import (
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
)

// Adjustment is a value the gateway rewrote rather than dropped: a number
// moved into the upstream's range, an effort served as another level. It
// is reported in X-OpenToken-Adjusted-Params as param=from->to.
type Adjustment struct {
	Param    string // the client's name for it
	From, To string
}

// adjust records a rewrite. Calls allocate only when something changed.
func (c *Call) adjust(param, from, to string) {
	c.Adjusted = append(c.Adjusted, Adjustment{param, from, to})
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// noteClamps records every forwarded number the model's range moves. The
// adapters apply the same clamps as they write the upstream body.
func (c *Call) noteClamps() {
	s, m := &c.Req.Superset, c.Model
	for rest := c.Forward &^ maxTokensParams; rest != 0; {
		var p matrix.Param
		p, rest = rest.Next()
		cl := m.Clamps[p]
		if !cl.Set {
			continue
		}
		switch generated.ParamSpecs[p].Type {
		case matrix.TypeNumber:
			if v := s.Float(p); cl.Apply(v) != v {
				c.adjust(generated.ParamSpecs[p].Name, formatNumber(v), formatNumber(cl.Apply(v)))
			}
		case matrix.TypeInteger:
			if v := float64(s.Int(p)); cl.Apply(v) != v {
				c.adjust(generated.ParamSpecs[p].Name, formatNumber(v), formatNumber(float64(int64(cl.Apply(v)))))
			}
		}
	}
}

// noteEffort records an effort the model serves as another level (xhigh
// as high on a model without xhigh, none as minimal on Gemini 3), under
// the name the client used for it.
func (c *Call) noteEffort(param, asked string) {
	t := &c.Thinking
	if asked == "" || t.Level == "" {
		return
	}
	if served := strings.ToLower(t.Level); served != asked {
		c.adjust(param, asked, served)
	}
}
