package adapter

import (
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
)

// appendForwarded appends "name":value for every forwarded parameter that
// the model renames to an upstream field, by the parameter's type alone:
// numbers are clamped to the upstream's range, string lists cut to its
// limit. The caller has opened the object the members belong to.
func appendForwarded(dst []byte, c *Call) []byte {
	s, m := &c.Req.Superset, c.Model
	for rest := c.Forward &^ maxTokensParams; rest != 0; {
		var p matrix.Param
		p, rest = rest.Next()
		name := m.Rename[p]
		if name == "" {
			continue // a control parameter, honoured by the adapter itself
		}
		dst = jsonw.Comma(dst)
		// A member of an object (metadata.user_id) is written as the
		// object with its one member (spec/ allows one per object).
		parent, member, nested := strings.Cut(name, ".")
		if nested {
			dst = jsonw.Key(dst, parent)
			dst = append(dst, '{')
			name = member
		}
		dst = jsonw.Key(dst, name)
		switch generated.ParamSpecs[p].Type {
		case matrix.TypeNumber:
			dst = jsonw.Float(dst, m.Clamps[p].Apply(s.Float(p)))
		case matrix.TypeInteger:
			v := s.Int(p)
			if cl := m.Clamps[p]; cl.Set {
				v = int64(cl.Apply(float64(v)))
			}
			dst = jsonw.Int(dst, v)
		case matrix.TypeBoolean:
			dst = jsonw.Bool(dst, s.Bool(p))
		case matrix.TypeString, matrix.TypeEnum:
			dst = jsonw.String(dst, s.String(p))
		case matrix.TypeStringOrArray:
			dst = append(dst, '[')
			for _, v := range s.Strings(p) {
				if m.StopNeedsText && !hasText(v) {
					continue
				}
				dst = jsonw.Comma(dst)
				dst = jsonw.String(dst, v)
			}
			dst = append(dst, ']')
		default:
			dst = append(dst, s.Raw(p)...)
		}
		if nested {
			dst = append(dst, '}')
		}
	}
	return dst
}
