package gen

import (
	"math"

	"github.com/dave/jennifer/jen"
)

func (e *emitter) docFile() *jen.File {
	f := e.newFile("spec/")
	f.PackageComment("Package " + e.pkg + " is the capability matrix of spec/ compiled to Go by\n" +
		e.opt.Command + ": parameter numbers and validation tables (params.go), one\n" +
		"branch-free filter per model (<provider>_<model>.gen.go) and the registry\n" +
		"(registry.go). Edit the TOML in spec/ and run `make generate`; never edit here.")
	f.Comment("//go:generate go run ../" + e.opt.Command + " -spec ../spec -out . -readme ../README.md")
	return f
}

func (e *emitter) paramsFile() *jen.File {
	f := e.newFile(e.ir.paramsFile)
	for _, emit := range []func(*jen.File){
		e.emitParamConsts, e.emitPolicyMasks, e.emitParamSpecs,
		e.emitSuperset, e.emitPresent, e.emitValidate, e.emitAccessors, e.emitGuards,
	} {
		emit(f)
		f.Line()
	}
	return f
}

func (e *emitter) emitParamConsts(f *jen.File) {
	f.Comment("The numbered parameters, in the order of " + e.ir.paramsFile + ". Each number")
	f.Comment("is also the parameter's bit in a matrix.Mask.")
	f.Const().DefsFunc(func(g *jen.Group) {
		for _, p := range e.ir.params {
			g.Id(paramConst(p)).Add(e.mx("Param")).Op("=").Lit(p.bit).Comment(p.name)
		}
		g.Line()
		g.Comment("NumParams is how many parameters are numbered.")
		g.Id("NumParams").Op("=").Lit(len(e.ir.params))
	})
}

func (e *emitter) emitPolicyMasks(f *jen.File) {
	byPolicy := func(policy string) []*paramInfo {
		var ps []*paramInfo
		for _, p := range e.ir.params {
			if p.policy == policy {
				ps = append(ps, p)
			}
		}
		return ps
	}
	f.Const().Defs(
		jen.Comment("DropParams are left out silently where a model lacks them."),
		jen.Id("DropParams").Add(e.mx("Mask")).Op("=").Add(maskOf(byPolicy("drop"))),
		jen.Comment("RejectParams change what the answer is: where a model lacks one, the"),
		jen.Comment("request is refused with 400 unsupported_parameter, never silently changed."),
		jen.Id("RejectParams").Add(e.mx("Mask")).Op("=").Add(maskOf(byPolicy("reject"))),
		jen.Comment("ControlParams steer the gateway itself and are never forwarded by name."),
		jen.Id("ControlParams").Add(e.mx("Mask")).Op("=").Add(maskOf(byPolicy("control"))),
	)
	f.Line()
	f.Comment("CoreFields are the request's own structure; hand-written code decodes them.")
	f.Var().Id("CoreFields").Op("=").Index(jen.Op("...")).String().ValuesFunc(func(g *jen.Group) {
		for _, p := range e.ir.core {
			g.Lit(p.name)
		}
	})
}

func bound(v float64) jen.Code {
	switch {
	case math.IsInf(v, -1):
		return jen.Qual("math", "Inf").Call(jen.Lit(-1))
	case math.IsInf(v, 1):
		return jen.Qual("math", "Inf").Call(jen.Lit(1))
	}
	return jen.Lit(v)
}

func (e *emitter) emitParamSpecs(f *jen.File) {
	f.Comment("ParamSpecs describes every numbered parameter, indexed by its number.")
	f.Var().Id("ParamSpecs").Op("=").Index(jen.Id("NumParams")).Add(e.mx("ParamSpec")).CustomFunc(multi, func(g *jen.Group) {
		for _, p := range e.ir.params {
			items := []jen.Code{
				field("Name", jen.Lit(p.name)),
				field("Type", e.mx(typeConsts[p.typ])),
				field("Policy", e.mx(policyConsts[p.policy])),
				field("Min", bound(p.min)),
				field("Max", bound(p.max)),
			}
			if len(p.enum) > 0 {
				items = append(items, field("Enum", jen.Index().String().ValuesFunc(func(g *jen.Group) {
					for _, v := range p.enum {
						g.Lit(v)
					}
				})))
			}
			if p.maxItems > 0 {
				items = append(items, field("MaxItems", jen.Lit(p.maxItems)))
			}
			if p.aliasOf != nil {
				items = append(items, field("AliasOf", jen.Lit(p.aliasOf.name)))
			}
			if p.requires != "" {
				items = append(items, field("Requires", e.mx("Cap"+goName(p.requires))))
				items = append(items, field("Gated", jen.True()))
			}
			g.Id(paramConst(p)).Op(":").Values(items...)
		}
	})
}

// goType is the Go type a parameter decodes into. Scalars are pointers so
// that absence (and JSON null, which OpenAI's schema allows for most fields)
// is nil; structured values stay raw for their one consumer to decode.
func (e *emitter) goType(p *paramInfo) *jen.Statement {
	switch p.typ {
	case "number":
		return jen.Op("*").Float64()
	case "integer":
		return jen.Op("*").Int64()
	case "boolean":
		return jen.Op("*").Bool()
	case "string", "enum":
		return jen.Op("*").String()
	case "string_or_array":
		return e.mx("Strings")
	}
	return jen.Qual(goJSON, "RawMessage")
}

func (e *emitter) emitSuperset(f *jen.File) {
	f.Comment("Superset holds the numbered parameters of a chat request body. A nil field")
	f.Comment("is one the client did not send, or sent as null.")
	f.Type().Id("Superset").StructFunc(func(g *jen.Group) {
		for _, p := range e.ir.params {
			g.Id(p.ident).Add(e.goType(p)).Tag(map[string]string{"json": p.name + ",omitempty"})
		}
	})
}

// presentExpr is the Go condition that p was sent.
func (e *emitter) presentExpr(p *paramInfo) *jen.Statement {
	switch p.typ {
	case "object", "array", "string_or_object":
		return e.mx("RawPresent").Call(jen.Id("s").Dot(p.ident))
	}
	return jen.Id("s").Dot(p.ident).Op("!=").Nil()
}

func (e *emitter) emitPresent(f *jen.File) {
	f.Comment("Present returns the set of parameters the client sent.")
	f.Func().Params(jen.Id("s").Op("*").Id("Superset")).Id("Present").Params().Add(e.mx("Mask")).BlockFunc(func(g *jen.Group) {
		g.Var().Id("m").Add(e.mx("Mask"))
		for _, p := range e.ir.params {
			g.If(e.presentExpr(p)).Block(jen.Id("m").Op("|=").Lit(1).Op("<<").Id(paramConst(p)))
		}
		g.Return(jen.Id("m"))
	})
}

// rawShapes are the first bytes a raw value of each structured type may have.
var rawShapes = map[string][]rune{"object": {'{'}, "array": {'['}, "string_or_object": {'"', '{'}}

func (e *emitter) emitValidate(f *jen.File) {
	f.Comment("Validate checks every present parameter against its type and range in")
	f.Comment("ParamSpecs and returns the first that fails, or ok.")
	f.Func().Params(jen.Id("s").Op("*").Id("Superset")).Id("Validate").Params().Params(jen.Id("bad").Add(e.mx("Param")), jen.Id("ok").Bool()).BlockFunc(func(g *jen.Group) {
		for _, p := range e.ir.params {
			v := jen.Id("s").Dot(p.ident)
			var cond *jen.Statement
			switch p.typ {
			case "number", "integer":
				var checks []jen.Code
				conv := func(b float64) jen.Code {
					if p.typ == "integer" {
						return jen.Lit(int(b))
					}
					return jen.Lit(b)
				}
				if !math.IsInf(p.min, 0) {
					checks = append(checks, jen.Op("*").Add(v.Clone()).Op("<").Add(conv(p.min)))
				}
				if !math.IsInf(p.max, 0) {
					checks = append(checks, jen.Op("*").Add(v.Clone()).Op(">").Add(conv(p.max)))
				}
				if len(checks) == 0 {
					continue
				}
				or := jen.Null()
				for i, c := range checks {
					if i > 0 {
						or.Op("||")
					}
					or.Add(c)
				}
				cond = v.Clone().Op("!=").Nil().Op("&&").Parens(or)
			case "enum":
				cond = v.Clone().Op("!=").Nil().Op("&&").Op("!").Add(e.mx("InEnum")).Call(jen.Op("*").Add(v.Clone()), jen.Id("ParamSpecs").Index(jen.Id(paramConst(p))).Dot("Enum"))
			case "string_or_array":
				if p.maxItems == 0 {
					continue
				}
				cond = jen.Len(v.Clone()).Op(">").Lit(p.maxItems)
			case "object", "array", "string_or_object":
				// A raw value holds any JSON; check it has the declared shape.
				kind := e.mx("RawKind").Call(v.Clone())
				cond = e.mx("RawPresent").Call(v.Clone())
				for _, r := range rawShapes[p.typ] {
					cond.Op("&&").Add(kind.Clone()).Op("!=").LitRune(r)
				}
			default:
				continue
			}
			g.If(cond).Block(jen.Return(jen.Id(paramConst(p)), jen.False()))
		}
		g.Return(jen.Lit(0), jen.True())
	})
}

// emitGuards writes stringer-style compile-time assertions: the generated
// tables are laid out for matrix's Effort numbering, so a change there must
// break the build until the code is regenerated.
func (e *emitter) emitGuards(f *jen.File) {
	f.Func().Id("_").Params().BlockFunc(func(g *jen.Group) {
		g.Comment("An \"invalid array index\" compiler error signifies that the constants of")
		g.Comment("package matrix have changed since this was generated. Re-run make generate.")
		g.Var().Id("x").Index(jen.Lit(1)).Struct()
		for i, name := range efforts {
			g.Id("_").Op("=").Id("x").Index(e.mx(effortConst(name)).Op("-").Lit(i))
		}
		g.Id("_").Op("=").Id("x").Index(e.mx("NumEfforts").Op("-").Lit(len(efforts)))
	})
}

func effortConst(name string) string {
	if name == "xhigh" {
		return "EffortXHigh"
	}
	return "Effort" + goName(name)
}
