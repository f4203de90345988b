package gen

import "github.com/dave/jennifer/jen"

const jsonRead = "github.com/opentoken/opentoken/internal/jsonread"

// decodeFile writes the one-pass decoder of the superset's parameters: a
// switch on the key, each case reading its value in place with the Go type
// goType gives it. It decodes exactly what the Superset's JSON tags decode
// through goccy/go-json, or fails the reader so that goccy/go-json decodes
// it (the chat door's differential tests hold the two to that).
func (e *emitter) decodeFile() *jen.File {
	f := e.newFile(e.ir.paramsFile)
	f.ImportName(jsonRead, "jsonread")
	r := jen.Id("r")

	f.Comment("ParamDecoder decodes the numbered parameters of one request body into a")
	f.Comment("Superset, member by member, as the door's decoder reads the body: strings")
	f.Comment("point into the body, numbers are parsed where they lie, and the values the")
	f.Comment("pointer fields point at share one allocation.")
	f.Type().Id("ParamDecoder").Struct(
		jen.Id("s").Op("*").Id("Superset"),
		jen.Id("values").Op("*").Id("paramValues"),
		jen.Id("seen").Qual(jsonRead, "Fields"),
	)
	f.Line()
	f.Comment("paramValues holds what a decoded Superset's scalar fields point at, and")
	f.Comment("room for the first strings of its string-or-array fields.")
	f.Type().Id("paramValues").StructFunc(func(g *jen.Group) {
		for _, p := range e.ir.params {
			if t := scalarType(p); t != nil {
				g.Id(p.ident).Add(t)
			}
		}
		for _, p := range e.ir.params {
			if p.typ == "string_or_array" {
				g.Id(listRoom(p)).Index(jen.Lit(listRoomLen)).String()
			}
		}
	})
	f.Line()
	f.Comment("NewParamDecoder decodes into s.")
	f.Func().Id("NewParamDecoder").Params(jen.Id("s").Op("*").Id("Superset")).Id("ParamDecoder").Block(
		jen.Return(jen.Id("ParamDecoder").Values(jen.Id("s").Op(":").Id("s"))),
	)
	f.Line()
	f.Comment("Decode reads the value of the member key from r and reports whether key")
	f.Comment("names a parameter. A value goccy/go-json would not decode the same way —")
	f.Comment("of another type, out of its Go type's range — and a parameter sent twice")
	f.Comment("fail r, for the careful decoder to decode or explain.")
	f.Func().Params(jen.Id("d").Op("*").Id("ParamDecoder")).Id("Decode").
		Params(jen.Id("key").Index().Byte(), r.Clone().Op("*").Qual(jsonRead, "Reader")).Bool().
		BlockFunc(func(g *jen.Group) {
			g.Switch(jen.String().Call(jen.Id("key"))).BlockFunc(func(sw *jen.Group) {
				for _, p := range e.ir.params {
					sw.Case(jen.Lit(p.name)).Block(e.decodeCase(p)...)
				}
				sw.Default().Block(jen.Return(jen.False()))
			})
			g.Return(jen.True())
		})
	f.Line()
	f.Comment("scalars returns the block the scalar fields point at, allocated at the")
	f.Comment("first scalar of the request.")
	f.Func().Params(jen.Id("d").Op("*").Id("ParamDecoder")).Id("scalars").Params().Op("*").Id("paramValues").Block(
		jen.If(jen.Id("d").Dot("values").Op("==").Nil()).Block(jen.Id("d").Dot("values").Op("=").New(jen.Id("paramValues"))),
		jen.Return(jen.Id("d").Dot("values")),
	)
	return f
}

// listRoomLen is how many strings of a string-or-array parameter the
// scalars' block has room for: OpenAI takes at most four stop sequences, so
// a request that works there allocates nothing more for them. A longer list
// grows out of the block.
const listRoomLen = 4

// listRoom names the room in the scalars' block for p's strings.
func listRoom(p *paramInfo) string { return p.ident + "Room" }

// scalarType is the type a pointer field of the Superset points at, nil
// for the fields that are not pointers.
func scalarType(p *paramInfo) *jen.Statement {
	switch p.typ {
	case "number":
		return jen.Float64()
	case "integer":
		return jen.Int64()
	case "boolean":
		return jen.Bool()
	case "string", "enum":
		return jen.String()
	}
	return nil
}

// readers are the jsonread.Reader methods that read each scalar type.
var readers = map[string]string{"number": "Float", "integer": "Int", "boolean": "Bool", "string": "String", "enum": "String"}

// decodeCase is the body of p's case: null leaves a pointer or list nil,
// as goccy/go-json does, and a raw value keeps null as written.
func (e *emitter) decodeCase(p *paramInfo) []jen.Code {
	r, field := jen.Id("r"), jen.Id("d").Dot("s").Dot(p.ident)
	code := []jen.Code{jen.Id("d").Dot("seen").Dot("Once").Call(r.Clone(), jen.Uint().Call(jen.Id(paramConst(p))))}
	ifNull := jen.If(r.Clone().Dot("Null").Call()).Block(jen.Return(jen.True()))
	switch {
	case scalarType(p) != nil:
		code = append(code, ifNull,
			jen.Id("v").Op(":=").Id("d").Dot("scalars").Call(),
			jen.Id("v").Dot(p.ident).Op("=").Add(r.Clone()).Dot(readers[p.typ]).Call(),
			field.Clone().Op("=").Op("&").Id("v").Dot(p.ident))
	case p.typ == "string_or_array":
		code = append(code, ifNull,
			jen.Id("v").Op(":=").Id("d").Dot("scalars").Call(),
			field.Clone().Op("=").Add(r.Clone()).Dot("AppendStrings").Call(jen.Id("v").Dot(listRoom(p)).Index(jen.Empty(), jen.Lit(0))))
	default:
		code = append(code, field.Clone().Op("=").Add(r.Clone()).Dot("Raw").Call())
	}
	return code
}
