package gen

import "github.com/dave/jennifer/jen"

// emitAccessors writes typed getters from a parameter number to its value, so
// that the upstream encoders forward any parameter by its type alone instead
// of naming each one. Each getter covers the parameters of one Go type and
// returns the zero value for an absent parameter or one of another type.
func (e *emitter) emitAccessors(f *jen.File) {
	getters := []struct {
		name, doc string
		types     []string
		result    jen.Code
		value     func(v *jen.Statement) jen.Code
		zero      jen.Code
	}{
		{"Float", "the value of a number parameter", []string{"number"}, jen.Float64(),
			func(v *jen.Statement) jen.Code { return jen.Op("*").Add(v) }, jen.Lit(0)},
		{"Int", "the value of an integer parameter", []string{"integer"}, jen.Int64(),
			func(v *jen.Statement) jen.Code { return jen.Op("*").Add(v) }, jen.Lit(0)},
		{"Bool", "the value of a boolean parameter", []string{"boolean"}, jen.Bool(),
			func(v *jen.Statement) jen.Code { return jen.Op("*").Add(v) }, jen.False()},
		{"String", "the value of a string or enum parameter", []string{"string", "enum"}, jen.String(),
			func(v *jen.Statement) jen.Code { return jen.Op("*").Add(v) }, jen.Lit("")},
		{"Strings", "the value of a string-or-array parameter", []string{"string_or_array"}, jen.Index().String(),
			func(v *jen.Statement) jen.Code { return v }, jen.Nil()},
		{"Raw", "the raw JSON of an object, array or string-or-object parameter", []string{"object", "array", "string_or_object"}, jen.Qual(goJSON, "RawMessage"),
			func(v *jen.Statement) jen.Code { return v }, jen.Nil()},
	}
	for _, g := range getters {
		f.Comment(g.name + " returns " + g.doc + ".")
		f.Func().Params(jen.Id("s").Op("*").Id("Superset")).Id(g.name).Params(jen.Id("p").Add(e.mx("Param"))).Add(g.result).Block(
			jen.Switch(jen.Id("p")).BlockFunc(func(sw *jen.Group) {
				for _, p := range e.ir.params {
					for _, t := range g.types {
						if p.typ != t {
							continue
						}
						v := jen.Id("s").Dot(p.ident)
						if p.typ == "string_or_array" || p.typ == "object" || p.typ == "array" || p.typ == "string_or_object" {
							sw.Case(jen.Id(paramConst(p))).Block(jen.Return(g.value(v)))
						} else {
							sw.Case(jen.Id(paramConst(p))).Block(
								jen.If(v.Clone().Op("!=").Nil()).Block(jen.Return(g.value(v.Clone()))),
							)
						}
					}
				}
			}),
			jen.Return(g.zero),
		)
		f.Line()
	}
	f.Comment("KnownField reports whether name is a top-level field of the accepted")
	f.Comment("request body: a numbered parameter or a core field.")
	f.Func().Id("KnownField").Params(jen.Id("name").String()).Bool().Block(
		jen.Switch(jen.Id("name")).Block(
			jen.CaseFunc(func(g *jen.Group) {
				for _, p := range e.ir.core {
					g.Lit(p.name)
				}
				for _, p := range e.ir.params {
					g.Lit(p.name)
				}
			}).Block(jen.Return(jen.True())),
		),
		jen.Return(jen.False()),
	)
}
