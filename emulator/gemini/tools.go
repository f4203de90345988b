package gemini

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

type funcDecl struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	Parameters           json.RawMessage `json:"parameters"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
}

type functionCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// placeholders are the documented stand-ins for a lost thought signature.
var placeholders = map[string]bool{"skip_thought_signature_validator": true, "context_engineering_is_the_way_to_go": true}

// signature is the emulator's thought signature of a call: checked when
// the call comes back, so a changed one is refused as the real API does.
func signature(name string, args []byte) string {
	sum := sha256.Sum256(append([]byte(name+"\x00"), args...))
	return base64.StdEncoding.EncodeToString(sum[:12])
}

func validFunctionName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !(s[0] == '_' || 'a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func (r *request) declarations() []funcDecl {
	var out []funcDecl
	for _, t := range r.Tools {
		out = append(out, t.FunctionDeclarations...)
	}
	return out
}

// validateTools checks declarations, the calling config, the pairing of
// calls and responses and the thought signatures, with the real messages.
func (r *request) validateTools(m *model) string {
	declared := map[string]bool{}
	for i, t := range r.Tools {
		for j, d := range t.FunctionDeclarations {
			at := "tools[" + strconv.Itoa(i) + "].function_declarations[" + strconv.Itoa(j) + "]"
			switch {
			case !validFunctionName(d.Name):
				return "* GenerateContentRequest." + at + ".name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 64.\n"
			case len(d.Parameters) > 0 && len(d.ParametersJSONSchema) > 0:
				return "* GenerateContentRequest." + at + ": parameters and parameters_json_schema are mutually exclusive.\n"
			}
			if msg := schemaUnknown(d.Parameters, at+".parameters"); msg != "" {
				return msg
			}
			declared[d.Name] = true
		}
	}
	if tc := r.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		switch fc.Mode {
		case "", "MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED":
		default:
			return "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"" + fc.Mode + "\""
		}
		if len(fc.AllowedFunctionNames) > 0 && fc.Mode != "ANY" && fc.Mode != "VALIDATED" {
			return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names may be set only when mode is ANY or VALIDATED.\n"
		}
		for _, n := range fc.AllowedFunctionNames {
			if !declared[n] {
				return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: function " + n + " is not declared.\n"
			}
		}
	}
	g := &r.GenerationConfig
	if len(g.ResponseJSONSchema) > 0 && g.ResponseMimeType != "application/json" {
		return "* GenerateContentRequest.generation_config.response_mime_type: response_json_schema requires response_mime_type application/json.\n"
	}
	if len(g.ResponseJSONSchema) > 0 && len(g.ResponseSchema) > 0 {
		return "* GenerateContentRequest.generation_config: response_schema and response_json_schema are mutually exclusive.\n"
	}
	if len(declared) > 0 && g.ResponseMimeType == "application/json" && !m.gemini3 {
		return "Function calling with a response mime type: 'application/json' is unsupported"
	}
	for i := range r.Contents {
		if msg := r.validateResponses(i); msg != "" {
			return msg
		}
	}
	if m.gemini3 {
		return r.validateSignatures()
	}
	return ""
}

// validateResponses checks a user content of function responses against
// the model content before it.
func (r *request) validateResponses(i int) string {
	c := &r.Contents[i]
	var ids []string
	n := 0
	for j, p := range c.Parts {
		if p.FunctionResponse == nil {
			continue
		}
		if emulatorKind(p.FunctionResponse.Response) != '{' {
			return "Invalid value at 'contents[" + strconv.Itoa(i) + "].parts[" + strconv.Itoa(j) + "].function_response.response' (type.googleapis.com/google.protobuf.Struct), " + string(p.FunctionResponse.Response)
		}
		n++
		ids = append(ids, p.FunctionResponse.ID)
	}
	if n == 0 {
		return ""
	}
	calls := 0
	var callIDs []string
	if i > 0 && r.Contents[i-1].Role == "model" {
		for _, p := range r.Contents[i-1].Parts {
			if p.FunctionCall != nil {
				calls++
				callIDs = append(callIDs, p.FunctionCall.ID)
			}
		}
	}
	if calls != n {
		return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
	}
	for k := range ids {
		if ids[k] != callIDs[k] {
			return "functionResponse.id does not match functionCall.id"
		}
	}
	return ""
}

// validateSignatures: in the current turn (after the last user content of
// ordinary parts), the first functionCall of every step must carry its
// signature, unchanged, or a documented placeholder.
func (r *request) validateSignatures() string {
	start := 0
	for i := len(r.Contents) - 1; i >= 0; i-- {
		if r.Contents[i].Role != "model" && !r.responses(i) {
			start = i + 1
			break
		}
	}
	for i := start; i < len(r.Contents); i++ {
		for j, p := range r.Contents[i].Parts {
			fc := p.FunctionCall
			if fc == nil {
				continue
			}
			switch sig := p.ThoughtSignature; {
			case sig == "":
				return "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:" +
					fc.Name + "` , position " + strconv.Itoa(j+1) + ". Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
			case !placeholders[sig] && sig != signature(fc.Name, compact(fc.Args)):
				return "Corrupted thought signature."
			}
			break // only the first call of a step is checked
		}
	}
	return ""
}

func compact(raw []byte) []byte {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}

// responses reports whether content i holds function responses.
func (r *request) responses(i int) bool {
	for _, p := range r.Contents[i].Parts {
		if p.FunctionResponse != nil {
			return true
		}
	}
	return false
}

func (r *request) endsWithResults() bool { return r.responses(len(r.Contents) - 1) }

// calls decides the function calls of the reply by the rules in
// emulator/tools.go.
func (r *request) calls(m *model, ids func() string) []functionCall {
	decls := r.declarations()
	if len(decls) == 0 || r.endsWithResults() {
		return nil
	}
	mode, allowed := "AUTO", []string(nil)
	if tc := r.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		mode, allowed = tc.FunctionCallingConfig.Mode, tc.FunctionCallingConfig.AllowedFunctionNames
	}
	names := allowed
	if names == nil {
		for _, d := range decls {
			names = append(names, d.Name)
		}
	}
	var chosen []string
	switch mode {
	case "NONE":
		return nil
	case "ANY":
		if chosen = emulator.MentionedTools(names, r.lastUserText()); chosen == nil {
			chosen = names[:1]
		}
	default:
		chosen = emulator.MentionedTools(names, r.lastUserText())
	}
	var out []functionCall
	for _, name := range chosen {
		for _, d := range decls {
			if d.Name != name {
				continue
			}
			schema := d.ParametersJSONSchema
			if len(schema) == 0 {
				schema = d.Parameters
			}
			var s any
			_ = json.Unmarshal(schema, &s)
			args, _ := json.Marshal(emulator.Example(s))
			fc := functionCall{Name: name, Args: args}
			if m.gemini3 {
				fc.ID = ids()
			}
			out = append(out, fc)
		}
	}
	return out
}

// callParts are the model parts of the calls: the first carries the
// step's thought signature.
func callParts(calls []functionCall) []map[string]any {
	var parts []map[string]any
	for i, c := range calls {
		fc := map[string]any{"name": c.Name, "args": json.RawMessage(c.Args)}
		if c.ID != "" {
			fc["id"] = c.ID
		}
		p := map[string]any{"functionCall": fc}
		if i == 0 {
			p["thoughtSignature"] = signature(c.Name, c.Args)
		}
		parts = append(parts, p)
	}
	return parts
}

// lastResults is the text of the function responses that end the contents.
func (r *request) lastResults() string {
	var out []string
	for _, p := range r.Contents[len(r.Contents)-1].Parts {
		if p.FunctionResponse != nil {
			out = append(out, string(p.FunctionResponse.Response))
		}
	}
	return strings.Join(out, "; ")
}

// formatText is the JSON-mode answer: a value of the schema, or an object.
func (r *request) formatText() (string, bool) {
	g := &r.GenerationConfig
	if g.ResponseMimeType != "application/json" {
		return "", false
	}
	var s any = map[string]any{"type": "object"}
	if len(g.ResponseJSONSchema) > 0 {
		_ = json.Unmarshal(g.ResponseJSONSchema, &s)
	}
	b, _ := json.Marshal(emulator.Example(s))
	return string(b), true
}

func emulatorKind(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return c
		}
	}
	return 0
}
