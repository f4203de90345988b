package vertex

import (
	"encoding/json"
	"strconv"

	"github.com/valyala/fasthttp"
)

// serveEmbeddings answers :predict for an embedding model: its instances
// (content, task_type, title) and parameters (outputDimensionality,
// autoTruncate) are the Gemini emulator's batch behind, its answer
// Vertex's predictions with their statistics.
func (e *Emulator) serveEmbeddings(ctx *fasthttp.RequestCtx, p path) {
	var req struct {
		Instances []struct {
			Content  string `json:"content"`
			TaskType string `json:"task_type"`
			Title    string `json:"title"`
		} `json:"instances"`
		Parameters struct {
			OutputDimensionality *int  `json:"outputDimensionality"`
			AutoTruncate         *bool `json:"autoTruncate"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
		fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	switch n, most := len(req.Instances), embeddingModels[p.model]; {
	case n == 0:
		fail(ctx, 400, "INVALID_ARGUMENT", "instances must not be empty.")
		return
	case n > most:
		fail(ctx, 400, "INVALID_ARGUMENT", "Unable to submit request because the model "+p.model+" supports up to "+strconv.Itoa(most)+
			" instances per request, but "+strconv.Itoa(n)+" were given.")
		return
	}
	type part struct {
		Text string `json:"text"`
	}
	type request struct {
		Model                string                 `json:"model"`
		Content              struct{ Parts []part } `json:"content"`
		TaskType             string                 `json:"taskType,omitempty"`
		Title                string                 `json:"title,omitempty"`
		OutputDimensionality *int                   `json:"outputDimensionality,omitempty"`
	}
	batch := struct {
		Requests []request `json:"requests"`
	}{}
	for _, in := range req.Instances {
		r := request{Model: "models/" + p.model, TaskType: in.TaskType, Title: in.Title, OutputDimensionality: req.Parameters.OutputDimensionality}
		r.Content.Parts = []part{{Text: in.Content}}
		batch.Requests = append(batch.Requests, r)
	}
	body, _ := json.Marshal(batch)
	ctx.Request.SetRequestURI("/v1beta/models/" + p.model + ":batchEmbedContents")
	ctx.Request.Header.Del("Authorization")
	ctx.Request.Header.Set("x-goog-api-key", innerKey)
	ctx.Request.SetBodyRaw(body)
	e.gemini.Handle(ctx)
	if ctx.Response.StatusCode() != 200 {
		return
	}
	var out struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	if json.Unmarshal(ctx.Response.Body(), &out) != nil {
		return
	}
	type prediction struct {
		Embeddings struct {
			Statistics struct {
				Truncated  bool `json:"truncated"`
				TokenCount int  `json:"token_count"`
			} `json:"statistics"`
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	preds := make([]prediction, len(out.Embeddings))
	for i := range out.Embeddings {
		preds[i].Embeddings.Values = out.Embeddings[i].Values
		preds[i].Embeddings.Statistics.TokenCount = (len(req.Instances[i].Content) + 3) / 4
	}
	answer, _ := json.Marshal(map[string]any{"predictions": preds})
	ctx.SetBody(answer)
}
