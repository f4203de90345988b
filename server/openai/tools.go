package openai

import (
	"strconv"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// tool is one entry of tools.
type tool struct {
	Type         string            `json:"type"`
	Function     *llm.Function     `json:"function"`
	Custom       json.RawMessage   `json:"custom"`
	CacheControl *llm.CacheControl `json:"cache_control"`
}

// nameRule says what a function name may be.
const nameRule = llm.ToolNameRule

// decodeTools reads tools, tool_choice, functions and function_call into
// req.Tools. It runs only for requests that sent one of them; list is
// the tools array when the fast decoder has read it already.
func decodeTools(req *llm.Request, list []tool) *llm.Error {
	hasTools, hasFunctions := matrix.RawPresent(req.Superset.Tools), matrix.RawPresent(req.Superset.Functions)
	if hasTools && hasFunctions {
		return llm.BadRequest("functions", "send tools or the deprecated functions, not both")
	}
	t := &llm.Tools{}
	if hasTools {
		ok := list != nil
		if !ok {
			list, ok = readTools(req.Superset.Tools)
		}
		if !ok {
			list = nil
			if err := json.UnmarshalNoCopy(req.Superset.Tools, &list); err != nil {
				return llm.BadRequest("tools", "tools must be an array of {type: \"function\", function: {name, description, parameters, strict}}")
			}
		}
		for i := range list {
			switch {
			case list[i].Type == "custom":
				return llm.BadRequest("tools", toolAt("tools", i, true)+" is a custom tool; only function tools are supported, as no upstream runs custom tools")
			case list[i].Type != "function":
				return llm.BadRequest("tools", toolAt("tools", i, true)+".type must be function")
			case list[i].Function == nil:
				return llm.BadRequest("tools", toolAt("tools", i, true)+".function is required")
			}
			if t.Functions == nil {
				t.Functions = make([]llm.Function, 0, len(list))
			}
			if cc := list[i].CacheControl; cc != nil {
				if e := llm.CheckCacheControl(cc, toolAt("tools", i, true)); e != nil {
					return e
				}
			}
			f := *list[i].Function
			f.CacheControl = list[i].CacheControl
			if f.CacheControl != nil {
				req.CacheBreakpoints++
			}
			t.Functions = append(t.Functions, f)
		}
	}
	if hasFunctions {
		t.Legacy = true
		if err := json.UnmarshalNoCopy(req.Superset.Functions, &t.Functions); err != nil {
			return llm.BadRequest("functions", "functions must be an array of {name, description, parameters}")
		}
	}
	param := "tools"
	if t.Legacy {
		param = "functions"
	}
	for i := range t.Functions {
		f := &t.Functions[i]
		switch {
		case !llm.ValidToolName(f.Name):
			return llm.BadRequest(param, toolAt(param, i, t.Legacy)+".name must be "+nameRule)
		case declared(t, f.Name, i):
			return llm.BadRequest(param, toolAt(param, i, t.Legacy)+".name "+strconv.Quote(f.Name)+" is declared twice")
		case matrix.RawPresent(f.Parameters) && matrix.RawKind(f.Parameters) != '{':
			return llm.BadRequest(param, toolAt(param, i, t.Legacy)+".parameters must be a JSON Schema object")
		}
	}
	var err *llm.Error
	switch {
	case matrix.RawPresent(req.Superset.ToolChoice):
		if t.Legacy {
			return llm.BadRequest("tool_choice", "tool_choice goes with tools; with functions, use function_call")
		}
		t.Choice, err = decodeToolChoice(req.Superset.ToolChoice, t)
	case matrix.RawPresent(req.Superset.FunctionCall):
		if !t.Legacy && hasTools {
			return llm.BadRequest("function_call", "function_call goes with functions; with tools, use tool_choice")
		}
		t.Choice, err = decodeFunctionCall(req.Superset.FunctionCall, t)
		t.Legacy = true
	}
	if err != nil {
		return err
	}
	if len(t.Functions) == 0 && (t.Choice.Mode == llm.ToolRequired || t.Choice.Mode == llm.ToolNamed) {
		return llm.BadRequest(param, "a required or named tool choice needs tools to choose from")
	}
	req.ToolSet = t
	return nil
}

func decodeToolChoice(raw json.RawMessage, t *llm.Tools) (llm.ToolChoice, *llm.Error) {
	const param = "tool_choice"
	if matrix.RawKind(raw) == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return llm.ToolChoice{Mode: llm.ToolAuto}, nil
		case "none":
			return llm.ToolChoice{Mode: llm.ToolNone}, nil
		case "required":
			return llm.ToolChoice{Mode: llm.ToolRequired}, nil
		}
		return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice must be none, auto, required or an object naming a function")
	}
	var c struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		AllowedTools *struct {
			Mode  string `json:"mode"`
			Tools []tool `json:"tools"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice must be none, auto, required or an object naming a function")
	}
	switch c.Type {
	case "function":
		if c.Function == nil || !declared(t, c.Function.Name, len(t.Functions)) {
			return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice.function.name must name a function of tools")
		}
		return llm.ToolChoice{Mode: llm.ToolNamed, Name: c.Function.Name}, nil
	case "allowed_tools":
		a := c.AllowedTools
		if a == nil || (a.Mode != "auto" && a.Mode != "required") || len(a.Tools) == 0 {
			return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice.allowed_tools needs mode auto or required and a non-empty tools list")
		}
		choice := llm.ToolChoice{Mode: llm.ToolAuto, Allowed: make([]string, 0, len(a.Tools))}
		if a.Mode == "required" {
			choice.Mode = llm.ToolRequired
		}
		for i, at := range a.Tools {
			if at.Type != "function" || at.Function == nil || !declared(t, at.Function.Name, len(t.Functions)) {
				return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice.allowed_tools.tools["+strconv.Itoa(i)+"] must name a function of tools")
			}
			choice.Allowed = append(choice.Allowed, at.Function.Name)
		}
		return choice, nil
	case "custom":
		return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice names a custom tool; only function tools are supported")
	}
	return llm.ToolChoice{}, llm.BadRequest(param, "tool_choice.type must be function or allowed_tools")
}

func decodeFunctionCall(raw json.RawMessage, t *llm.Tools) (llm.ToolChoice, *llm.Error) {
	const param = "function_call"
	if matrix.RawKind(raw) == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return llm.ToolChoice{Mode: llm.ToolAuto}, nil
		case "none":
			return llm.ToolChoice{Mode: llm.ToolNone}, nil
		}
		return llm.ToolChoice{}, llm.BadRequest(param, "function_call must be none, auto or {\"name\": ...}")
	}
	var c struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || !declared(t, c.Name, len(t.Functions)) {
		return llm.ToolChoice{}, llm.BadRequest(param, "function_call.name must name one of functions")
	}
	return llm.ToolChoice{Mode: llm.ToolNamed, Name: c.Name}, nil
}

// decodeResponseFormat reads a response_format that asks for JSON.
func decodeResponseFormat(req *llm.Request) *llm.Error {
	const param = "response_format"
	f := &llm.ResponseFormat{}
	if err := json.Unmarshal(req.Superset.ResponseFormat, f); err != nil {
		return llm.BadRequest(param, "response_format must be {type: text | json_object | json_schema, json_schema: {name, schema, strict}}")
	}
	switch f.Type {
	case "text":
		return nil // plain text: nothing to do
	case "json_object":
	case "json_schema":
		s := f.JSONSchema
		switch {
		case s == nil:
			return llm.BadRequest(param, "response_format.json_schema is required with type json_schema")
		case !llm.ValidToolName(s.Name):
			return llm.BadRequest(param, "response_format.json_schema.name must be "+nameRule)
		case matrix.RawPresent(s.Schema) && matrix.RawKind(s.Schema) != '{':
			return llm.BadRequest(param, "response_format.json_schema.schema must be a JSON Schema object")
		}
	default:
		return llm.BadRequest(param, "response_format.type must be text, json_object or json_schema")
	}
	req.Format = f
	return nil
}

// declared reports whether one of the first n functions is called name.
// Lists are short (OpenAI allows 128): a scan beats building a map.
func declared(t *llm.Tools, name string, n int) bool {
	for i := range t.Functions[:n] {
		if t.Functions[i].Name == name {
			return true
		}
	}
	return false
}

// toolAt is the path of tool i, for errors: tools[i].function, or the
// entry itself when bare (functions[i], or tools[i] for its type).
func toolAt(param string, i int, bare bool) string {
	at := param + "[" + strconv.Itoa(i) + "]"
	if !bare {
		at += ".function"
	}
	return at
}
