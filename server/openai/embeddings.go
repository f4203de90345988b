package openai

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// MaxEmbeddingInputs is the most inputs one request takes, as OpenAI's.
const MaxEmbeddingInputs = 2048

// embeddingsFields are the fields of an embeddings request; OpenAI's
// schema allows no other.
var embeddingsFields = map[string]bool{"model": true, "input": true, "encoding_format": true, "dimensions": true,
	"user": true, "task_type": true, "title": true, "service_tier": true}

// DecodeEmbeddings parses and checks an embeddings body. Every failure is
// a 400 naming the field.
func DecodeEmbeddings(body []byte, req *llm.EmbeddingsRequest) *llm.Error {
	if matrix.RawKind(body) != '{' {
		return llm.BadRequest("", "request body must be a JSON object")
	}
	if err := json.UnmarshalNoCopy(body, req); err != nil {
		return decodeEmbeddingsError(body, err)
	}
	if key, ok := unknownIn(body, embeddingsFields); !ok {
		return llm.BadRequest(key, "unknown field "+strconv.Quote(key)+": not an OpenAI embeddings parameter")
	}
	switch {
	case req.Model == "":
		return llm.BadRequest("model", "model is required: an embedding model id such as google/gemini-embedding-001")
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		return llm.BadRequest("encoding_format", "encoding_format must be float or base64")
	case req.Dimensions != nil && *req.Dimensions < 1:
		return llm.BadRequest("dimensions", "dimensions must be at least 1")
	case req.Title != "" && req.TaskType != "RETRIEVAL_DOCUMENT":
		return llm.BadRequest("title", "title goes only with task_type RETRIEVAL_DOCUMENT")
	}
	return decodeInputs(req)
}

// decodeInputs reads input: a string, or an array of 1 to 2048 strings.
// Token arrays are refused: the upstreams take text.
func decodeInputs(req *llm.EmbeddingsRequest) *llm.Error {
	const param = "input"
	switch matrix.RawKind(req.Input) {
	case '"':
		var s string
		if json.UnmarshalNoCopy(req.Input, &s) != nil {
			return llm.BadRequest(param, "input must be a string or an array of strings")
		}
		req.Inputs = []string{s}
	case '[':
		// Strings, the common case, decode without a copy; anything else
		// is looked at element by element, to say which one is wrong.
		if json.UnmarshalNoCopy(req.Input, &req.Inputs) == nil && len(req.Inputs) > 0 && len(req.Inputs) <= MaxEmbeddingInputs {
			break
		}
		var list []json.RawMessage
		if json.UnmarshalNoCopy(req.Input, &list) != nil {
			return llm.BadRequest(param, "input must be a string or an array of strings")
		}
		if len(list) == 0 || len(list) > MaxEmbeddingInputs {
			return llm.BadRequest(param, "input must hold 1 to "+strconv.Itoa(MaxEmbeddingInputs)+" strings; it holds "+strconv.Itoa(len(list)))
		}
		req.Inputs = make([]string, len(list))
		for i, raw := range list {
			if matrix.RawKind(raw) != '"' {
				return llm.BadRequest(param, "input["+strconv.Itoa(i)+"] is not a string: token arrays are not supported, as the upstreams take text")
			}
			if json.UnmarshalNoCopy([]byte(raw), &req.Inputs[i]) != nil {
				return llm.BadRequest(param, "input["+strconv.Itoa(i)+"] is not a valid string")
			}
		}
	case 0, 'n':
		return llm.BadRequest(param, "input is required: a string or an array of strings")
	default:
		return llm.BadRequest(param, "input must be a string or an array of strings")
	}
	for i, s := range req.Inputs {
		if s == "" {
			return llm.BadRequest(param, "input["+strconv.Itoa(i)+"] is empty; every input needs text")
		}
	}
	return nil
}

func decodeEmbeddingsError(body []byte, err error) *llm.Error {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return llm.BadRequest("", "request body is not valid JSON: "+err.Error())
	}
	for _, k := range []string{"model", "input", "encoding_format", "dimensions", "user", "task_type", "title"} {
		if raw, ok := members[k]; ok {
			one, _ := json.Marshal(map[string]json.RawMessage{k: raw})
			var probe llm.EmbeddingsRequest
			if json.Unmarshal(one, &probe) != nil {
				return llm.BadRequest(k, k+": wrong type; see the OpenAI embeddings schema")
			}
		}
	}
	return llm.BadRequest("", "invalid request body: "+err.Error())
}

// unknownIn returns the first top-level key of obj not in known.
func unknownIn(obj []byte, known map[string]bool) (string, bool) {
	var members map[string]json.RawMessage
	if json.Unmarshal(obj, &members) != nil {
		return "", true
	}
	for k := range members {
		if !known[k] {
			return k, false
		}
	}
	return "", true
}

// AppendEmbeddings appends the embeddings list: one entry per vector, in
// order, each a float array or, with asBase64, the base64 of its
// little-endian float32 bytes (what the openai npm package asks for by
// default).
func AppendEmbeddings(dst []byte, model string, vectors [][]float32, asBase64 bool, u *llm.Usage) []byte {
	dst = append(dst, `{"object":"list","model":`...)
	dst = jsonw.String(dst, model)
	dst = append(dst, `,"data":[`...)
	var raw []byte
	for i, v := range vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"object":"embedding","index":`...)
		dst = jsonw.Int(dst, int64(i))
		dst = append(dst, `,"embedding":`...)
		if asBase64 {
			raw = raw[:0]
			for _, f := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
			}
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, raw)
			dst = append(dst, '"')
		} else {
			dst = append(dst, '[')
			for j, f := range v {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendFloat(dst, float64(f), 'g', -1, 32)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"usage":{"prompt_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt)
	dst = append(dst, `,"total_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt)
	dst = append(dst, `,"cost":`...)
	dst = AppendUSD(dst, u.Cost)
	return append(dst, "}}"...)
}
