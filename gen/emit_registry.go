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
	return f
}
