package gen

import (
	"github.com/dave/jennifer/jen"
)

// modelFile emits one model: its constant masks, its branch-free filter, its
// rename and clamp tables and its registry entry.
func (e *emitter) modelFile(m *modelInfo) *jen.File {
	f := e.newFile(m.file)
	supported, drops := "supported"+m.ident, "thinkingDrops"+m.ident
	f.Const().Defs(
		jen.Comment(supported+" is every parameter "+m.id+" forwards or honours."),
		jen.Id(supported).Add(e.mx("Mask")).Op("=").Add(maskOf(m.supported)),
		jen.Comment(drops+" is removed from the forwarded set when thinking is on."),
		jen.Id(drops).Add(e.mx("Mask")).Op("=").Add(maskOf(m.drops)),
	)
	f.Line()
	e.emitFilter(f, m, supported, drops)
	f.Line()
	e.emitModelVar(f, m, supported, drops)
	f.Line()
	e.emitTables(f, m)
	return f
}

// emitFilter writes the model's filter. Every rule is bit arithmetic on
// constant masks: an exclusivity rule clears the loser's bit by shifting the
// winner's bit onto it, and the thinking rule clears its set through an
// all-ones-or-zero mask made from the flag. The result has no branch at all,
// which TestFiltersAreBranchFree checks on the compiled code.
func (e *emitter) emitFilter(f *jen.File, m *modelInfo, supported, drops string) {
	name := "filter" + m.ident
	f.Comment(name + " returns the parameters of present that " + m.id + " forwards.")
	f.Func().Id(name).Params(jen.Id("present").Add(e.mx("Mask")), jen.Id("thinking").Bool()).Add(e.mx("Mask")).BlockFunc(func(g *jen.Group) {
		g.Id("forward").Op(":=").Id("present").Op("&").Id(supported)
		for _, x := range m.exclusive {
			w, l := x[0], x[1]
			g.Comment(w.name + " wins over " + l.name + ": when both are present, " + l.name + " is dropped.")
			g.Id("forward").Op("&^=").Parens(jen.Id("forward").Op(">>").Id(paramConst(w)).Op("&").Lit(1)).Op("<<").Id(paramConst(l))
		}
		if len(m.drops) > 0 {
			g.Comment("Extended thinking drops " + names(m.drops) + ".")
			g.Id("forward").Op("&^=").Id(drops).Op("&").Op("-").Add(e.mx("Bit")).Call(jen.Id("thinking"))
		} else {
			g.Id("_").Op("=").Id("thinking").Comment("thinking drops nothing on " + m.id)
		}
		g.Return(jen.Id("forward"))
	})
}

func names(ps []*paramInfo) string {
	s := ""
	for i, p := range ps {
		switch {
		case i == 0:
		case i == len(ps)-1:
			s += " and "
		default:
			s += ", "
		}
		s += p.name
	}
	return s
}

func (e *emitter) emitModelVar(f *jen.File, m *modelInfo, supported, drops string) {
	price := e.price
	thinking := []jen.Code{
		field("Style", e.mx(thinkingStyles[m.thinkingStyle].constant)),
		field("Drops", jen.Id(drops)),
	}
	if m.budgets != nil {
		thinking = append(thinking,
			field("Budgets", jen.Index(e.mx("NumEfforts")).Int().CustomFunc(multi, func(g *jen.Group) {
				for i, b := range m.budgets {
					g.Add(e.mx(effortConst(efforts[i]))).Op(":").Lit(b)
				}
			})),
			field("MinBudget", jen.Lit(m.minBudget)),
			field("MaxBudget", jen.Lit(m.maxBudget)))
	}
	if m.levels != nil {
		thinking = append(thinking, field("Levels", jen.Index(e.mx("NumEfforts")).String().CustomFunc(multi, func(g *jen.Group) {
			for i, l := range m.levels {
				g.Add(e.mx(effortConst(efforts[i]))).Op(":").Lit(l)
			}
		})))
	}
	f.Var().Id("model"+m.ident).Op("=").Add(e.mx("Model")).Custom(multi,
		field("ID", jen.Lit(m.id)),
		field("Name", jen.Lit(m.name)),
		field("Aliases", e.strings(m.aliases)),
		field("Index", jen.Lit(m.index)),
		field("Provider", e.mx(providerConsts[m.provider])),
		field("Kind", e.mx(kindConsts[m.kind])),
		field("UpstreamID", jen.Lit(m.upstreamID)),
		field("Filter", jen.Id("filter"+m.ident)),
		field("Supported", jen.Id(supported)),
		field("Rename", jen.Id("rename"+m.ident).Index(jen.Op(":"))),
		field("Clamps", jen.Id("clamps"+m.ident).Index(jen.Op(":"))),
		field("MaxStop", jen.Lit(m.maxStop)),
		field("StopNeedsText", jen.Lit(m.stopText)),
		field("ContextLength", jen.Lit(m.contextLength)),
		field("MaxOutputTokens", jen.Lit(m.maxOutput)),
		field("DefaultMaxTokens", jen.Lit(m.defaultMax)),
		field("Thinking", e.mx("Thinking").Custom(multi, thinking...)),
		field("Pricing", e.mx("Pricing").Custom(multi,
			field("Input", jen.Lit(m.input)),
			field("Output", jen.Lit(m.output)),
			field("CacheRead", price(m.cacheRead)),
			field("CacheWrite", price(m.cacheWrite)),
			field("CacheWrite1h", price(m.cacheWrite1h)),
			field("Flex", e.flexPricing(m.flex)),
		)),
		field("Embedding", e.embeddingOf(m.embed)),
		field("Retired", e.retiredOf(m.retired)),
		field("Supplies", e.suppliesOf(m.supplies)),
		field("Cache", e.cacheOf(m.cache)),
		field("Caps", e.capsOf(m.caps)),
		field("Inputs", e.modalitiesOf(m.inputs)),
		field("FetchesURLs", e.modalitiesOf(m.fetches)),
		field("ToolLoop", e.mx("ToolLoop").Custom(multi,
			field("Replay", e.mx(replayConsts[m.toolLoop.replay].constant)),
			field("Unsigned", e.mx(unsignedConsts[m.toolLoop.unsigned])),
			field("Placeholder", jen.Lit(m.toolLoop.placeholder)),
			field("ForcedChoiceDropsThinking", jen.Lit(m.toolLoop.forcedChoiceDropsThinking)),
		)),
	)
}

// embeddingOf is an embedding model's facts; nil for a chat model.
func (e *emitter) embeddingOf(d *EmbeddingDecl) jen.Code {
	if d == nil {
		return jen.Nil()
	}
	return jen.Op("&").Add(e.mx("Embedding")).Custom(multi,
		field("Dimensions", jen.Lit(d.Dimensions)),
		field("MinDimensions", jen.Lit(d.MinDimensions)),
		field("NormalizeTruncated", jen.Lit(d.NormalizeTruncated)),
		field("TaskTypes", jen.Index().String().ValuesFunc(func(g *jen.Group) {
			for _, t := range d.TaskTypes {
				g.Lit(t)
			}
		})),
		field("MaxInputTokens", jen.Lit(d.MaxInputTokens)),
		field("MaxBatch", jen.Lit(d.MaxBatch)),
	)
}

// price is an optional price: invalid when left out.
func (e *emitter) price(p *float64) jen.Code {
	if p == nil {
		return e.mx("Price").Values()
	}
	return e.mx("Price").Values(field("USD", jen.Lit(*p)), field("Valid", jen.True()))
}

// flexPricing is the flex lane's prices; nil for none.
func (e *emitter) flexPricing(p *PricingDecl) jen.Code {
	if p == nil {
		return jen.Nil()
	}
	return jen.Op("&").Add(e.mx("Pricing")).Custom(multi,
		field("Input", jen.Lit(*p.Input)),
		field("Output", jen.Lit(*p.Output)),
		field("CacheRead", e.price(p.CacheRead)),
		field("CacheWrite", e.price(p.CacheWrite)),
		field("CacheWrite1h", e.price(p.CacheWrite1h)),
	)
}

// suppliesOf lists the supplier kinds that serve a model.
func (e *emitter) suppliesOf(supplies []SupplierDecl) jen.Code {
	return jen.Index().Add(e.mx("Supply")).CustomFunc(multi, func(g *jen.Group) {
		for _, s := range supplies {
			fields := []jen.Code{
				field("Kind", e.mx(supplierConsts[s.Kind])),
				field("UpstreamID", jen.Lit(s.UpstreamID)),
			}
			if s.Flex {
				fields = append(fields, field("Flex", jen.True()))
			}
			if s.MaxBatch > 0 {
				fields = append(fields, field("MaxBatch", jen.Lit(s.MaxBatch)))
			}
			if len(s.Betas) > 0 {
				fields = append(fields, field("Betas", e.strings(s.Betas)))
			}
			if len(s.Locations) > 0 {
				fields = append(fields, field("Locations", jen.Index().String().ValuesFunc(func(l *jen.Group) {
					for _, loc := range s.Locations {
						l.Lit(loc)
					}
				})))
			}
			g.Add(jen.Custom(multi, fields...))
		}
	})
}

// strings is a []string literal; nil for none.
func (e *emitter) strings(list []string) jen.Code {
	if len(list) == 0 {
		return jen.Nil()
	}
	return jen.Index().String().ValuesFunc(func(g *jen.Group) {
		for _, s := range list {
			g.Lit(s)
		}
	})
}

// retiredOf is a retired model's day and replacement; nil for one served.
func (e *emitter) retiredOf(r *RetiredDecl) jen.Code {
	if r == nil {
		return jen.Nil()
	}
	return jen.Op("&").Add(e.mx("Retired")).Custom(multi,
		field("On", jen.Lit(r.On)),
		field("Replacement", jen.Lit(r.Replacement)),
	)
}

// cacheOf is a model's prompt caching; the zero Cache for none.
func (e *emitter) cacheOf(c *CacheDecl) jen.Code {
	if c == nil {
		return e.mx("Cache").Values()
	}
	return e.mx("Cache").Custom(multi,
		field("Style", e.mx(cacheStyles[c.Style].constant)),
		field("MaxBreakpoints", jen.Lit(c.MaxBreakpoints)),
		field("MinTokens", jen.Lit(c.MinTokens)),
	)
}

// modalitiesOf is the Modalities set of the named modalities.
func (e *emitter) modalitiesOf(names []string) jen.Code {
	if len(names) == 0 {
		return e.mx("Modalities").Call(jen.Lit(0))
	}
	var set *jen.Statement
	for _, n := range names {
		bit := jen.Lit(1).Op("<<").Add(e.mx("Mod" + modalityConst[n]))
		if set == nil {
			set = bit
		} else {
			set = set.Op("|").Add(bit)
		}
	}
	return e.mx("Modalities").Call(set)
}

// modalityConst names matrix's constant of each modality.
var modalityConst = map[string]string{"text": "Text", "image": "Image", "pdf": "PDF", "audio": "Audio"}

// capsOf is the Caps set of the named capabilities, by matrix's constants.
func (e *emitter) capsOf(caps []string) jen.Code {
	if len(caps) == 0 {
		return e.mx("Caps").Call(jen.Lit(0))
	}
	var set *jen.Statement
	for _, c := range caps {
		bit := jen.Lit(1).Op("<<").Add(e.mx("Cap" + goName(c)))
		if set == nil {
			set = bit
		} else {
			set = set.Op("|").Add(bit)
		}
	}
	return e.mx("Caps").Call(set)
}

func (e *emitter) emitTables(f *jen.File, m *modelInfo) {
	f.Comment("rename" + m.ident + " is the upstream's name of each forwarded parameter.")
	f.Var().Id("rename"+m.ident).Op("=").Index(jen.Id("NumParams")).String().CustomFunc(multi, func(g *jen.Group) {
		for _, p := range m.supported {
			if name, ok := m.rename[p]; ok {
				g.Id(paramConst(p)).Op(":").Lit(name)
			}
		}
	})
	f.Line()
	f.Comment("clamps" + m.ident + " narrows parameters to the upstream's ranges.")
	f.Var().Id("clamps"+m.ident).Op("=").Index(jen.Id("NumParams")).Add(e.mx("Clamp")).CustomFunc(multi, func(g *jen.Group) {
		for _, p := range m.supported {
			if c, ok := m.clamps[p]; ok {
				g.Id(paramConst(p)).Op(":").Values(field("Min", jen.Lit(c[0])), field("Max", jen.Lit(c[1])), field("Set", jen.True()))
			}
		}
	})
}
