package server

import (
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/internal/suggest"
	"github.com/opentoken/opentoken/matrix"
)

// modelsCreated is the fixed "created" of every /v1/models entry.
const modelsCreated = 1704067200

// appendModels writes the GET /v1/models body from the generated registry:
// the OpenAI list shape plus pricing, context length and the parameters each
// model forwards, so that clients can read the matrix. It lists only the
// models some endpoint serves.
func appendModels(dst []byte) []byte {
	dst = append(dst, `{"object":"list","data":[`...)
	first := true
	for _, m := range generated.Models {
		if !served(m) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendModel(dst, m)
	}
	return append(dst, "]}"...)
}

// served reports whether an endpoint of the gateway serves m: chat models
// and embedding models both are, unless their upstream retired them.
func served(m *matrix.Model) bool {
	return m.Retired == nil && (m.Kind == matrix.KindChat || m.Kind == matrix.KindEmbedding)
}

// lookupModel finds the served model of an id, or the error that answers
// it: 410 model_retired naming the replacement for a model its upstream
// retired, 400 model_not_found otherwise, with the id meant when the id
// lacks its provider ("claude-sonnet-4-6") or is a close typo.
func lookupModel(id string) (*matrix.Model, *llm.Error) {
	m := generated.Lookup(id)
	switch {
	case m != nil && m.Retired != nil:
		return nil, &llm.Error{Status: 410, Type: llm.TypeInvalidRequest, Code: llm.CodeModelRetired, Param: "model",
			Message: "model " + strconv.Quote(id) + " was retired by its upstream on " + m.Retired.On + "; use " + strconv.Quote(m.Retired.Replacement) +
				" (its results are not comparable with the retired model's: what you stored from it must be made again)"}
	case m != nil && served(m):
		return m, nil
	}
	e := llm.ModelNotFound(id)
	if meant := meantModel(id); meant != "" {
		e.Message += "; did you mean " + strconv.Quote(meant) + "?"
	}
	return nil, e
}

// meantModel is the served model an unknown id most likely meant: the one
// it names without its provider, else the closest by spelling.
func meantModel(id string) string {
	var ids []string
	for _, m := range generated.Models {
		if !served(m) {
			continue
		}
		if _, name, _ := strings.Cut(m.ID, "/"); name == id {
			return m.ID
		}
		ids = append(ids, m.ID)
	}
	return suggest.Closest(id, ids)
}

// appendModel writes one model object, as GET /v1/models/{id} answers it.
func appendModel(dst []byte, m *matrix.Model) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"object":"model","created":`...)
	dst = jsonw.Int(dst, modelsCreated)
	dst = append(dst, `,"owned_by":`...)
	dst = jsonw.String(dst, m.Provider.String())
	dst = append(dst, `,"pricing":{"input":`...)
	dst = jsonw.Float(dst, m.Pricing.Input)
	dst = append(dst, `,"output":`...)
	dst = jsonw.Float(dst, m.Pricing.Output)
	dst = append(dst, `,"cache_read":`...)
	dst = appendPrice(dst, m.Pricing.CacheRead)
	dst = append(dst, `,"cache_write":`...)
	dst = appendPrice(dst, m.Pricing.CacheWrite)
	dst = append(dst, `,"cache_write_1h":`...)
	dst = appendPrice(dst, m.Pricing.CacheWrite1h)
	dst = append(dst, `},"context_length":`...)
	dst = jsonw.Int(dst, int64(m.ContextLength))
	if m.Kind == matrix.KindChat {
		dst = append(dst, `,"max_output_tokens":`...)
		dst = jsonw.Int(dst, int64(m.MaxOutputTokens))
	}
	if e := m.Embedding; e != nil {
		dst = append(dst, `,"dimensions":`...)
		dst = jsonw.Int(dst, int64(e.Dimensions))
		dst = append(dst, `,"max_input_tokens":`...)
		dst = jsonw.Int(dst, int64(e.MaxInputTokens))
	}
	// OpenRouter's field: what the model reads ("file" for PDFs, as
	// OpenRouter names them) and writes.
	dst = append(dst, `,"architecture":{"input_modalities":[`...)
	for x, first := matrix.Modality(0), true; x < matrix.NumModalities; x++ {
		if !m.Inputs.Has(x) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		name := matrix.ModalityNames[x]
		if x == matrix.ModPDF {
			name = "file"
		}
		dst = jsonw.String(dst, name)
	}
	output := `"text"`
	if m.Kind == matrix.KindEmbedding {
		output = `"embeddings"`
	}
	dst = append(dst, `],"output_modalities":[`+output+`]}`...)
	dst = append(dst, `,"supported_parameters":[`...)
	for rest, first := m.Supported, true; rest != 0; first = false {
		var p matrix.Param
		p, rest = rest.Next()
		if !first {
			dst = append(dst, ',')
		}
		dst = jsonw.String(dst, generated.ParamSpecs[p].Name)
	}
	if m.Caps.Has(matrix.CapStructuredOutputs) {
		// OpenRouter's name for json_schema support, beside response_format.
		dst = append(dst, `,"structured_outputs"`...)
	}
	return append(dst, "]}"...)
}

func appendPrice(dst []byte, p matrix.Price) []byte {
	if !p.Valid {
		return append(dst, "null"...)
	}
	return jsonw.Float(dst, p.USD)
}
