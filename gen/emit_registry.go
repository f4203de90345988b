package gen

import "github.com/dave/jennifer/jen"

func (e *emitter) registryFile() *jen.File {
	f := e.newFile("spec/models/")
	f.Comment("Models lists every registered model, sorted by id.")
	f.Var().Id("Models").Op("=").Index(jen.Op("...")).Op("*").Add(e.mx("Model")).CustomFunc(multi, func(g *jen.Group) {
		for _, m := range e.ir.models {
			g.Op("&").Id("model" + m.ident)
		}
	})
	f.Line()
	f.Comment("Lookup returns the registered model with the given id, or nil. The switch")
	f.Comment("compiles to a search on length and bytes: no map, no hashing, no allocation.")
	f.Func().Id("Lookup").Params(jen.Id("id").String()).Op("*").Add(e.mx("Model")).Block(
		jen.Switch(jen.Id("id")).BlockFunc(func(g *jen.Group) {
			for _, m := range e.ir.models {
				g.Case(jen.Lit(m.id)).Block(jen.Return(jen.Op("&").Id("model" + m.ident)))
			}
		}),
		jen.Return(jen.Nil()),
	)
	f.Line()
	f.Comment("LookupAlias returns the model an upstream's own id names (spec's aliases,")
	f.Comment("such as claude-sonnet-4-6 or a dated claude-haiku-4-5-20251001), or nil.")
	f.Func().Id("LookupAlias").Params(jen.Id("id").String()).Op("*").Add(e.mx("Model")).Block(
		jen.Switch(jen.Id("id")).BlockFunc(func(g *jen.Group) {
			for _, m := range e.ir.models {
				if len(m.aliases) == 0 {
					continue
				}
				cases := make([]jen.Code, len(m.aliases))
				for i, a := range m.aliases {
					cases[i] = jen.Lit(a)
				}
				g.Case(cases...).Block(jen.Return(jen.Op("&").Id("model" + m.ident)))
			}
		}),
		jen.Return(jen.Nil()),
	)
	return f
}
