package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// OpenRouter's routing fields, as this gateway honours them: `models`
// lists fallback models, tried in order when the request's model fails
// before its answer commits for a reason of its suppliers; `provider`
// orders, picks and limits the model's suppliers. Both are validated
// before any upstream call.

// routing is what a request's routing fields ask.
type routing struct {
	order, only, ignore []string
	noFallbacks         bool // allow_fallbacks: false: one supplier, no failover
	requireParameters   bool // refuse a request the model would drop a parameter of
	// ignored names the provider fields without meaning here, reported
	// as dropped (provider.sort, …).
	ignored []string
	// models are the fallback models, served chat models other than the
	// request's own, in order.
	models []*matrix.Model
}

// parseRouting reads the routing fields of a request for model m.
func parseRouting(req *llm.Request, m *matrix.Model) (routing, *llm.Error) {
	var r routing
	if raw := req.Superset.Raw(generated.ParamProvider); len(raw) > 0 {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(raw, &p); err != nil {
			return r, llm.BadRequest("provider", "provider must be an object")
		}
		for key, v := range p {
			var err error
			var list []string // not &r's fields: r would go to the heap on every request
			switch key {
			case "order":
				err = json.Unmarshal(v, &list)
				r.order = list
			case "only":
				err = json.Unmarshal(v, &list)
				r.only = list
			case "ignore":
				err = json.Unmarshal(v, &list)
				r.ignore = list
			case "allow_fallbacks":
				var b *bool
				err = json.Unmarshal(v, &b)
				r.noFallbacks = b != nil && !*b
			case "require_parameters":
				var b *bool
				err = json.Unmarshal(v, &b)
				r.requireParameters = b != nil && *b
			default:
				r.ignored = append(r.ignored, "provider."+key)
			}
			if err != nil {
				return r, llm.BadRequest("provider."+key, "provider."+key+" has the wrong type")
			}
		}
		slices.Sort(r.ignored)
	}
	if raw := req.Superset.Raw(generated.ParamModels); len(raw) > 0 {
		var ids []string
		if err := json.Unmarshal(raw, &ids); err != nil {
			return r, llm.BadRequest("models", "models must be an array of model ids")
		}
		seen := map[string]bool{m.ID: true}
		for i, id := range ids {
			fm, e := lookupModel(id)
			if e != nil {
				e.Param = "models[" + strconv.Itoa(i) + "]"
				return r, e
			}
			if fm.Kind != matrix.KindChat {
				return r, llm.BadRequest("models["+strconv.Itoa(i)+"]", fm.ID+" is not a chat model")
			}
			if !seen[fm.ID] {
				seen[fm.ID] = true
				r.models = append(r.models, fm)
			}
		}
	}
	return r, nil
}

// suppliers applies the provider fields to a model's candidates, into
// dst: only and ignore pick, order puts the named first (in its order,
// the others after), allow_fallbacks: false keeps the first. A request
// whose fields leave no supplier is refused, naming the model's.
func (r *routing) suppliers(m *matrix.Model, cands, dst []candidate) ([]candidate, *llm.Error) {
	dst = dst[:0]
	if len(r.order) == 0 && len(r.only) == 0 && len(r.ignore) == 0 && !r.noFallbacks {
		return cands, nil
	}
	for _, c := range cands {
		if (len(r.only) == 0 || matchesAny(c.sup.name, r.only)) && !matchesAny(c.sup.name, r.ignore) {
			dst = append(dst, c)
		}
	}
	if len(dst) == 0 {
		names := make([]string, len(cands))
		for i, c := range cands {
			names[i] = c.sup.name
		}
		return nil, llm.BadRequest("provider", "provider.only and provider.ignore leave no supplier of "+m.ID+
			"; it is served by "+strings.Join(names, ", "))
	}
	if len(r.order) > 0 {
		// A stable sort by the position of the first order entry matching.
		rank := func(c candidate) int {
			for i, o := range r.order {
				if matches(c.sup.name, o) {
					return i
				}
			}
			return len(r.order)
		}
		for i := 1; i < len(dst); i++ {
			for j := i; j > 0 && rank(dst[j]) < rank(dst[j-1]); j-- {
				dst[j], dst[j-1] = dst[j-1], dst[j]
			}
		}
	}
	if r.noFallbacks {
		dst = dst[:1]
	}
	return dst, nil
}

// matches reports whether a routing field's entry names a supplier: its
// own name (gemini, vertex:global), or OpenRouter's provider slug
// (google-vertex for every Vertex location, google-ai-studio for the
// Gemini API, anthropic), in any case.
func matches(supplier, entry string) bool {
	entry = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(entry), " ", "-"))
	switch entry {
	case supplier:
		return true
	case "google-vertex", "vertex":
		return strings.HasPrefix(supplier, "vertex:")
	case "google-ai-studio", "google":
		return supplier == "gemini"
	}
	return false
}

func matchesAny(supplier string, entries []string) bool {
	for _, e := range entries {
		if matches(supplier, e) {
			return true
		}
	}
	return false
}
