package adapter

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
)

// Embedder speaks one upstream's embeddings API.
type Embedder interface {
	// BuildEmbed writes the upstream request for the inputs of a chunk of
	// c (at most the model's MaxBatch) into req, the body appended to buf.
	BuildEmbed(req *fasthttp.Request, buf []byte, c *EmbedCall, inputs []string, up *Upstream) ([]byte, *llm.Error)
	// ParseEmbed reads a 2xx answer into dst, one vector per input.
	ParseEmbed(body []byte, dst [][]float32) error
}

// EmbedCall is one embeddings request ready for an upstream.
type EmbedCall struct {
	Req   *llm.EmbeddingsRequest
	Model *matrix.Model
	// Dimensions is the size asked for, 0 for the model's own (not sent).
	Dimensions int
	// Batch is the most inputs one call of the attempt's supplier takes,
	// 0 for the model's own; UpstreamID the model's id there.
	Batch      int
	UpstreamID string
}

// batch is the size of a chunk of inputs.
func (c *EmbedCall) batch() int {
	if c.Batch > 0 {
		return c.Batch
	}
	return c.Model.Embedding.MaxBatch
}

// NewEmbedCall checks the request against the model's embedding facts.
func NewEmbedCall(req *llm.EmbeddingsRequest, m *matrix.Model) (*EmbedCall, *llm.Error) {
	e := m.Embedding
	c := &EmbedCall{Req: req, Model: m}
	if d := req.Dimensions; d != nil {
		if *d < int64(e.MinDimensions) || *d > int64(e.Dimensions) {
			return nil, llm.BadRequest("dimensions", m.ID+" takes dimensions from "+strconv.Itoa(e.MinDimensions)+" to "+strconv.Itoa(e.Dimensions))
		}
		if *d != int64(e.Dimensions) {
			c.Dimensions = int(*d)
		}
	}
	if req.TaskType != "" && !slices.Contains(e.TaskTypes, req.TaskType) {
		return nil, llm.BadRequest("task_type", m.ID+" takes task_type "+strings.Join(e.TaskTypes, ", "))
	}
	return c, nil
}

// Chunks is how many upstream calls the inputs take.
func (c *EmbedCall) Chunks() int {
	n := c.batch()
	return (len(c.Req.Inputs) + n - 1) / n
}

// Chunk returns the bounds of chunk i of the inputs.
func (c *EmbedCall) Chunk(i int) (lo, hi int) {
	n := c.batch()
	return i * n, min((i+1)*n, len(c.Req.Inputs))
}

// Finish shapes the vectors the upstream gave: cut vectors are scaled back
// to unit length where the model's facts say the upstream leaves them
// short of it.
func (c *EmbedCall) Finish(vectors [][]float32) {
	if c.Dimensions == 0 || !c.Model.Embedding.NormalizeTruncated {
		return
	}
	for _, v := range vectors {
		var sum float64
		for _, f := range v {
			sum += float64(f) * float64(f)
		}
		if sum == 0 {
			continue
		}
		scale := 1 / math.Sqrt(sum)
		for i := range v {
			v[i] = float32(float64(v[i]) * scale)
		}
	}
}

// EstimateTokens is the usage of the inputs. Gemini's embeddings answer
// carries no token count: it is estimated at 4 bytes a token, rounded up
// per input (README, "Embeddings").
func (c *EmbedCall) EstimateTokens() int64 {
	var n int64
	for _, s := range c.Req.Inputs {
		n += int64(len(s)+3) / 4
	}
	return n
}

// BuildEmbed implements Embedder: batchEmbedContents, which Google's own
// SDK uses for one input too.
func (Gemini) BuildEmbed(req *fasthttp.Request, buf []byte, c *EmbedCall, inputs []string, up *Upstream) ([]byte, *llm.Error) {
	if up.Vertex != nil {
		return buildVertexEmbed(req, buf, c, inputs, up.BaseURL, up.Vertex)
	}
	model := c.Model.UpstreamID
	buf = append(buf, `{"requests":[`...)
	for i, text := range inputs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"model":"models/`...)
		buf = append(buf, model...) // an id from spec/: nothing to escape
		buf = append(buf, `","content":{"parts":[{"text":`...)
		buf = jsonw.String(buf, text)
		buf = append(buf, `}]}`...)
		if t := c.Req.TaskType; t != "" {
			buf = append(buf, `,"taskType":`...)
			buf = jsonw.String(buf, t)
		}
		if t := c.Req.Title; t != "" {
			buf = append(buf, `,"title":`...)
			buf = jsonw.String(buf, t)
		}
		if c.Dimensions > 0 {
			buf = append(buf, `,"outputDimensionality":`...)
			buf = jsonw.Int(buf, int64(c.Dimensions))
		}
		buf = append(buf, '}')
	}
	buf = append(buf, "]}"...)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(up.BaseURL + "/v1beta/models/" + model + ":batchEmbedContents")
	req.Header.SetContentType("application/json")
	req.Header.Set("x-goog-api-key", up.APIKey)
	req.SetBodyRaw(buf)
	return buf, nil
}

// buildVertexEmbed writes Vertex AI's :predict for the inputs: one
// instance each, the task and title in each, the size in the parameters.
func buildVertexEmbed(req *fasthttp.Request, buf []byte, c *EmbedCall, inputs []string, origin string, v *Vertex) ([]byte, *llm.Error) {
	buf = append(buf, `{"instances":[`...)
	for i, text := range inputs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"content":`...)
		buf = jsonw.String(buf, text)
		if t := c.Req.TaskType; t != "" {
			buf = append(buf, `,"task_type":`...)
			buf = jsonw.String(buf, t)
		}
		if t := c.Req.Title; t != "" {
			buf = append(buf, `,"title":`...)
			buf = jsonw.String(buf, t)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, `],"parameters":{"autoTruncate":false`...)
	if c.Dimensions > 0 {
		buf = append(buf, `,"outputDimensionality":`...)
		buf = jsonw.Int(buf, int64(c.Dimensions))
	}
	buf = append(buf, "}}"...)
	req.Header.SetMethod(fasthttp.MethodPost)
	v.setURI(req, origin, "google", c.upstreamID(), "predict")
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(buf)
	return buf, v.authorize(req)
}

var errEmbedCount = errors.New("gemini: the answer has a different number of embeddings than inputs")

// ParseEmbed implements Embedder.
func (Gemini) ParseEmbed(body []byte, dst [][]float32) error {
	var r struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
		// Vertex's :predict: a prediction per instance.
		Predictions []struct {
			Embeddings struct {
				Values []float32 `json:"values"`
			} `json:"embeddings"`
		} `json:"predictions"`
	}
	if err := json.UnmarshalNoCopy(body, &r); err != nil {
		return err
	}
	for _, p := range r.Predictions {
		r.Embeddings = append(r.Embeddings, p.Embeddings)
	}
	if len(r.Embeddings) != len(dst) {
		return errEmbedCount
	}
	for i := range r.Embeddings {
		if len(r.Embeddings[i].Values) == 0 {
			return errEmbedCount
		}
		dst[i] = r.Embeddings[i].Values
	}
	return nil
}

// upstreamID is the model's id at the attempt's supplier.
func (c *EmbedCall) upstreamID() string {
	if c.UpstreamID != "" {
		return c.UpstreamID
	}
	return c.Model.UpstreamID
}
