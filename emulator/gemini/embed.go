package gemini

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/json"
)

// maxBatch is the most requests batchEmbedContents takes.
const maxBatch = 100

// taskTypes are the TaskType values the API knows.
var taskTypes = map[string]bool{"TASK_TYPE_UNSPECIFIED": true, "RETRIEVAL_QUERY": true, "RETRIEVAL_DOCUMENT": true,
	"SEMANTIC_SIMILARITY": true, "CLASSIFICATION": true, "CLUSTERING": true, "QUESTION_ANSWERING": true,
	"FACT_VERIFICATION": true, "CODE_RETRIEVAL_QUERY": true}

type embedRequest struct {
	Model   string `json:"model"`
	Content struct {
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"content"`
	TaskType             string `json:"taskType"`
	Title                string `json:"title"`
	OutputDimensionality *int   `json:"outputDimensionality"`
}

// embed serves embedContent and batchEmbedContents: deterministic vectors
// made from each text, of unit length at the model's full size and cut at
// the end (no longer of unit length) for a smaller outputDimensionality,
// as the real API gives them.
func (e *Emulator) embed(ctx *fasthttp.RequestCtx, name, method string, m *model) {
	var reqs []embedRequest
	if method == "embedContent" {
		var one embedRequest
		if err := json.Unmarshal(ctx.PostBody(), &one); err != nil {
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
			return
		}
		reqs = []embedRequest{one}
	} else {
		var batch struct {
			Requests []embedRequest `json:"requests"`
		}
		if err := json.Unmarshal(ctx.PostBody(), &batch); err != nil {
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
			return
		}
		if len(batch.Requests) > maxBatch {
			fail(ctx, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n", "")
			return
		}
		if len(batch.Requests) == 0 {
			fail(ctx, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests is not specified\n", "")
			return
		}
		reqs = batch.Requests
	}
	var out []map[string]any
	for i, r := range reqs {
		at := "BatchEmbedContentsRequest.requests[" + strconv.Itoa(i) + "]"
		text := ""
		for _, p := range r.Content.Parts {
			text += p.Text
		}
		switch {
		case method == "batchEmbedContents" && r.Model != "models/"+name:
			fail(ctx, 400, "INVALID_ARGUMENT", "* "+at+".model: model must be the same as the batch model models/"+name+"\n", "")
			return
		case text == "":
			fail(ctx, 400, "INVALID_ARGUMENT", "* "+at+".content.parts: text must not be empty\n", "")
			return
		case r.TaskType != "" && !taskTypes[r.TaskType]:
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid value at '"+at+".task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), \""+r.TaskType+"\"", "")
			return
		case r.Title != "" && r.TaskType != "RETRIEVAL_DOCUMENT":
			fail(ctx, 400, "INVALID_ARGUMENT", "* "+at+".title: title is only valid with task type RETRIEVAL_DOCUMENT\n", "")
			return
		case r.OutputDimensionality != nil && (*r.OutputDimensionality < 1 || *r.OutputDimensionality > m.dimensions):
			fail(ctx, 400, "INVALID_ARGUMENT", "* "+at+".output_dimensionality: must be between 1 and "+strconv.Itoa(m.dimensions)+"\n", "")
			return
		}
		vec := unitVector(text, m.dimensions)
		if d := r.OutputDimensionality; d != nil {
			vec = vec[:*d]
		}
		out = append(out, map[string]any{"values": vec})
	}
	var body []byte
	if method == "embedContent" {
		body, _ = json.Marshal(map[string]any{"embedding": out[0]})
	} else {
		body, _ = json.Marshal(map[string]any{"embeddings": out})
	}
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.SetBody(body)
}

// unitVector is a deterministic vector of unit length made from text: the
// same text always embeds alike, different texts differently.
func unitVector(text string, n int) []float32 {
	v := make([]float32, n)
	seed := sha256.Sum256([]byte(text))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	var sum float64
	for i := range v {
		f := r.NormFloat64()
		v[i] = float32(f)
		sum += f * f
	}
	scale := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * scale)
	}
	return v
}
