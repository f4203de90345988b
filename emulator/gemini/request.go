package gemini

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/internal/json"
)

type request struct {
	CachedContent     string    `json:"cachedContent"`
	Contents          []content `json:"contents"`
	SystemInstruction *content  `json:"systemInstruction"`
	Tools             []struct {
		FunctionDeclarations []funcDecl `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig *struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig struct {
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		Temperature        *float64        `json:"temperature"`
		TopP               *float64        `json:"topP"`
		TopK               *float64        `json:"topK"`
		CandidateCount     *int64          `json:"candidateCount"`
		MaxOutputTokens    *int64          `json:"maxOutputTokens"`
		StopSequences      []string        `json:"stopSequences"`
		PresencePenalty    *float64        `json:"presencePenalty"`
		FrequencyPenalty   *float64        `json:"frequencyPenalty"`
		Seed               *int64          `json:"seed"`
		ThinkingConfig     *struct {
			IncludeThoughts *bool   `json:"includeThoughts"`
			ThinkingBudget  *int64  `json:"thinkingBudget"`
			ThinkingLevel   *string `json:"thinkingLevel"`
		} `json:"thinkingConfig"`
	} `json:"generationConfig"`
}

type content struct {
	Role  string `json:"role"`
	Parts []struct {
		Text       *string `json:"text"`
		InlineData *struct {
			MimeType string `json:"mimeType"`
			Data     string `json:"data"`
		} `json:"inlineData"`
		FileData         json.RawMessage `json:"fileData"`
		FunctionCall     *functionCall   `json:"functionCall"`
		FunctionResponse *struct {
			ID       string          `json:"id"`
			Name     string          `json:"name"`
			Response json.RawMessage `json:"response"`
		} `json:"functionResponse"`
		Thought          bool   `json:"thought"`
		ThoughtSignature string `json:"thoughtSignature"`
	} `json:"parts"`
}

// parse decodes and validates a body the way the real API does. Like the
// real API, it accepts field names in lowerCamel or snake_case.
func parse(body []byte, name string, m *model) (*request, string) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, "Invalid JSON payload received. " + err.Error()
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, "Invalid JSON payload received. Expected an object."
	}
	if msg := unknownField(raw, requestShape, ""); msg != "" {
		return nil, msg
	}
	raw = camelKeys(raw)
	normal, _ := json.Marshal(raw)
	req := &request{}
	if err := json.Unmarshal(normal, req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, "Invalid value at '" + te.Field + "' (" + te.Type.String() + "), " + te.Value
		}
		return nil, "Invalid JSON payload received. " + err.Error()
	}
	return req, req.validate(name, m)
}

func (r *request) validate(name string, m *model) string {
	if len(r.Contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified\n"
	}
	for i := range r.Contents {
		if msg := r.Contents[i].validate("contents[" + strconv.Itoa(i) + "]"); msg != "" {
			return msg
		}
	}
	if si := r.SystemInstruction; si != nil {
		if msg := si.validate("system_instruction"); msg != "" {
			return msg
		}
	}
	if msg := r.validateTools(m); msg != "" {
		return msg
	}
	g := &r.GenerationConfig
	switch {
	case g.Temperature != nil && (*g.Temperature < 0 || *g.Temperature > 2):
		return "* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0]\n"
	case g.TopP != nil && (*g.TopP < 0 || *g.TopP > 1):
		return "* GenerateContentRequest.generation_config.top_p: must be in the range [0.0, 1.0]\n"
	case g.CandidateCount != nil && *g.CandidateCount != 1:
		return "* GenerateContentRequest.generation_config.candidate_count: only 1 candidate is supported\n"
	case g.MaxOutputTokens != nil && (*g.MaxOutputTokens < 1 || *g.MaxOutputTokens > int64(m.maxOutput)):
		return "Unable to submit request because it has a maxOutputTokens value of " + strconv.FormatInt(*g.MaxOutputTokens, 10) +
			" but the supported range is from 1 (inclusive) to " + strconv.Itoa(m.maxOutput+1) + " (exclusive). Update the value and try again."
	case len(g.StopSequences) > 5:
		return "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed\n"
	case !m.penalties && (g.PresencePenalty != nil || g.FrequencyPenalty != nil):
		return "Penalty is not enabled for models/" + name
	case !m.seed && g.Seed != nil:
		return "Seed is not enabled for models/" + name
	}
	tc := g.ThinkingConfig
	if tc == nil {
		return ""
	}
	switch {
	case tc.ThinkingLevel != nil && tc.ThinkingBudget != nil:
		return "You can only set only one of thinking budget and thinking level."
	case tc.ThinkingLevel != nil && m.levels == nil:
		return "Thinking level is not supported for this model."
	case tc.ThinkingLevel != nil && !contains(m.levels, *tc.ThinkingLevel):
		return "Thinking level " + *tc.ThinkingLevel + " is not supported for models/" + name + "; supported levels are " + strings.Join(m.levels, ", ") + "."
	case tc.ThinkingBudget != nil && *tc.ThinkingBudget == 0 && !m.canDisable && m.levels == nil:
		return "Budget 0 is invalid. This model only works in thinking mode."
	case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0 && (*tc.ThinkingBudget < int64(m.minBudget) || *tc.ThinkingBudget > int64(m.maxBudget)):
		return "The thinking budget " + strconv.FormatInt(*tc.ThinkingBudget, 10) + " is invalid. Please choose a value between " +
			strconv.Itoa(m.minBudget) + " and " + strconv.Itoa(m.maxBudget) + "."
	case tc.ThinkingBudget != nil && *tc.ThinkingBudget < -1:
		return "The thinking budget " + strconv.FormatInt(*tc.ThinkingBudget, 10) + " is invalid."
	}
	return ""
}

func (c *content) validate(at string) string {
	if c.Role != "" && c.Role != "user" && c.Role != "model" {
		return "Please use a valid role: user, model."
	}
	if len(c.Parts) == 0 {
		return "* GenerateContentRequest." + at + ".parts: contents.parts must not be empty.\n"
	}
	for j, p := range c.Parts {
		n := 0
		for _, set := range []bool{p.Text != nil, p.InlineData != nil, p.FileData != nil, p.FunctionCall != nil, p.FunctionResponse != nil} {
			if set {
				n++
			}
		}
		pat := at + ".parts[" + strconv.Itoa(j) + "]"
		switch {
		case n == 0:
			return "* GenerateContentRequest." + pat + ".data: required oneof field 'data' must have one initialized field\n"
		case n > 1:
			return "* GenerateContentRequest." + pat + ".data: oneof field 'data' is already set. Cannot set 'data' twice\n"
		case p.InlineData != nil && p.InlineData.MimeType == "":
			return "* GenerateContentRequest." + pat + ".inline_data.mime_type: mime_type is not specified\n"
		case p.InlineData != nil && !inlineTypes[p.InlineData.MimeType]:
			return "Unsupported MIME type: " + p.InlineData.MimeType
		case p.InlineData != nil:
			if _, err := base64.StdEncoding.DecodeString(p.InlineData.Data); err != nil {
				return "Invalid value at '" + pat + ".inline_data.data' (TYPE_BYTES), Base64 decoding failed"
			}
		}
	}
	return ""
}

// inlineTypes are the MIME types Gemini reads inline: images, PDFs,
// plain text and audio (video the gateway never sends).
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/webp": true, "image/heic": true, "image/heif": true,
	"application/pdf": true, "text/plain": true,
	"audio/wav": true, "audio/mp3": true, "audio/aiff": true, "audio/aac": true, "audio/ogg": true, "audio/flac": true,
}

func (r *request) lastUserText() string {
	for i := len(r.Contents) - 1; i >= 0; i-- {
		if r.Contents[i].Role == "model" {
			continue
		}
		var b strings.Builder
		for _, p := range r.Contents[i].Parts {
			if p.Text != nil {
				b.WriteString(*p.Text)
			}
		}
		if b.Len() == 0 && r.endsWithResults() {
			continue // a turn of function results: the user's words are earlier
		}
		return b.String()
	}
	return ""
}

func (r *request) inputTokens() int {
	n := 0
	all := r.Contents
	if r.SystemInstruction != nil {
		all = append(all[:len(all):len(all)], *r.SystemInstruction)
	}
	for _, c := range all {
		for _, p := range c.Parts {
			if p.Text != nil {
				n += len(*p.Text)
			}
			if p.InlineData != nil {
				n += 258 * 4 // an image costs 258 tokens
			}
		}
	}
	return max((n+3)/4, 1)
}

// camelKeys rewrites snake_case object keys to lowerCamel, as the real API's
// JSON parsing accepts both spellings of every proto field. Values that are
// free JSON (google.protobuf.Value and Struct: schemas, call arguments,
// function results) and map keys keep their keys as sent.
func camelKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if freeJSON[camel(k)] {
				out[camel(k)] = e
				continue
			}
			out[camel(k)] = camelKeys(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = camelKeys(e)
		}
	}
	return v
}

// freeJSON are the fields whose values are free JSON or user-named maps.
var freeJSON = map[string]bool{"responseJsonSchema": true, "parametersJsonSchema": true, "responseJsonSchemaOrdered": true,
	"args": true, "response": true, "properties": true, "labels": true}

func camel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
