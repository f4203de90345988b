package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
)

func embed(t *testing.T, env *gatewaytest.Env, body string) *gatewaytest.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, "/v1/embeddings", gatewaytest.ClientKey, []byte(body))
}

// TestEmbeddingsRefusals: what the endpoint refuses, before any upstream
// call, with the field named.
func TestEmbeddingsRefusals(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	cases := []struct {
		name, body  string
		code, param any
	}{
		{"chat model", `{"model":"google/gemini-3-flash","input":"x"}`, "embeddings_unsupported", "model"},
		{"unknown model", `{"model":"openai/text-embedding-3-small","input":"x"}`, "model_not_found", "model"},
		{"token array", `{"model":"google/gemini-embedding-001","input":[1,2,3]}`, nil, "input"},
		{"token arrays", `{"model":"google/gemini-embedding-001","input":[[1,2],[3]]}`, nil, "input"},
		{"empty list", `{"model":"google/gemini-embedding-001","input":[]}`, nil, "input"},
		{"empty text", `{"model":"google/gemini-embedding-001","input":["a",""]}`, nil, "input"},
		{"too many", `{"model":"google/gemini-embedding-001","input":[` + strings.Repeat(`"a",`, 2048) + `"a"]}`, nil, "input"},
		{"no input", `{"model":"google/gemini-embedding-001"}`, nil, "input"},
		{"dimensions over", `{"model":"google/gemini-embedding-001","input":"x","dimensions":3073}`, nil, "dimensions"},
		{"dimensions under", `{"model":"google/gemini-embedding-001","input":"x","dimensions":64}`, nil, "dimensions"},
		{"encoding", `{"model":"google/gemini-embedding-001","input":"x","encoding_format":"int8"}`, nil, "encoding_format"},
		{"task type", `{"model":"google/gemini-embedding-001","input":"x","task_type":"CODE_RETRIEVAL_DOCUMENT"}`, nil, "task_type"},
		{"title without documents", `{"model":"google/gemini-embedding-001","input":"x","title":"t"}`, nil, "title"},
		{"unknown field", `{"model":"google/gemini-embedding-001","input":"x","truncate":true}`, nil, "truncate"},
		{"wrong type", `{"model":"google/gemini-embedding-001","input":"x","dimensions":"768"}`, nil, "dimensions"},
	}
	env.Gemini.Requests.Enable()
	before := env.Gemini.Requests.Count()
	for _, c := range cases {
		r := embed(t, env, c.body)
		var e struct {
			Error struct {
				Code  any `json:"code"`
				Param any `json:"param"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != 400 || e.Error.Code != c.code || e.Error.Param != c.param {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	if n := env.Gemini.Requests.Count() - before; n != 0 {
		t.Errorf("refused requests made %d upstream calls", n)
	}
	// A model its upstream retired: 410, naming the replacement, before
	// any upstream call.
	if r := embed(t, env, `{"model":"google/text-embedding-004","input":"x"}`); r.Status != 410 ||
		!strings.Contains(string(r.Body), `"code":"model_retired"`) || !strings.Contains(string(r.Body), `use \"google/gemini-embedding-001\"`) {
		t.Errorf("a retired model: %d %s", r.Status, r.Body)
	}
	if n := env.Gemini.Requests.Count() - before; n != 0 {
		t.Errorf("the retired model made %d upstream calls", n)
	}
	// An embedding model on chat has its own code.
	r := env.Chat(t, `{"model":"google/gemini-embedding-001","messages":[{"role":"user","content":"x"}]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"code":"model_not_supported"`) {
		t.Errorf("embedding model on chat: %d %s", r.Status, r.Body)
	}
}

// TestEmbeddingsChunkFailure: one failed upstream call fails the request
// with that call's mapped error, even when the others succeed.
func TestEmbeddingsChunkFailure(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
		Header: map[string]string{"Retry-After": "7"}})
	input := `[` + strings.Repeat(`"a",`, 349) + `"a"]` // 4 calls
	r := embed(t, env, `{"model":"google/gemini-embedding-001","input":`+input+`}`)
	if r.Status != 429 || r.Header.Get("Retry-After") != "7" || !strings.Contains(string(r.Body), "Resource has been exhausted") {
		t.Errorf("a chunk throttled: %d %s", r.Status, r.Body)
	}
	// The next request, with no fault, succeeds in full.
	r = embed(t, env, `{"model":"google/gemini-embedding-001","input":`+input+`,"encoding_format":"base64","dimensions":768}`)
	var list struct {
		Data []struct {
			Index     int    `json:"index"`
			Embedding string `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int     `json:"prompt_tokens"`
			Cost         float64 `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || r.Status != 200 || len(list.Data) != 350 || list.Data[349].Index != 349 ||
		len(list.Data[0].Embedding) != 4*768*4/3 || list.Usage.PromptTokens != 350 || list.Usage.Cost <= 0 {
		t.Errorf("after the fault: %d, %d vectors, usage %+v, %v", r.Status, len(list.Data), list.Usage, err)
	}
}
