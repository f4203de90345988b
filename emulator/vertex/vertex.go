// Package vertex is a strict emulator of Vertex AI's generative endpoints
// for both publishers — Google's Gemini models (:generateContent,
// :streamGenerateContent) and Anthropic's Claude models (:rawPredict,
// :streamRawPredict) — and of Google's OAuth token endpoint for the
// service account it issues. Requests need a bearer token the endpoint
// issued and not yet expired; each model is served only in the locations
// Vertex serves it (preview Gemini models at global only); errors come in
// Vertex's own shapes. Generation itself is the Gemini and Anthropic
// emulators', behind the Vertex paths.
package vertex

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
)

// DefaultTokenTTL is how long an issued access token lives, as Google's do.
const DefaultTokenTTL = 3599 * time.Second

// AnthropicVersion is the anthropic_version Vertex requires in the body.
const AnthropicVersion = "vertex-2023-10-16"

// innerKey is the key the Vertex front passes to the emulators behind it.
const innerKey = "vertex-inner-key"

// Emulator is Vertex AI for one project, and its service account.
type Emulator struct {
	Project string
	// TokenTTL is the lifetime of issued tokens.
	TokenTTL time.Duration
	emulator.Controls

	key   *rsa.PrivateKey
	keyID string
	email string

	gemini *emugemini.Emulator
	claude *emuanthropic.Emulator

	mu       sync.Mutex
	tokens   map[string]time.Time // issued access tokens and their expiry
	revoked  bool                 // the key was deleted: exchanges fail
	exchange atomic.Int64         // token exchanges answered
	ids      atomic.Int64
	now      func() time.Time
}

// New makes an emulator for project with a fresh service-account key.
func New(project string) (*Emulator, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	e := &Emulator{Project: project, TokenTTL: DefaultTokenTTL, key: key, keyID: "emulated-key-1",
		email:  "opentoken@" + project + ".iam.gserviceaccount.com",
		gemini: emugemini.New(innerKey), claude: emuanthropic.New(innerKey),
		tokens: map[string]time.Time{}, now: time.Now}
	return e, nil
}

// Credentials is the service account's JSON key, whose token_uri is the
// emulator at origin (http://host:port).
func (e *Emulator) Credentials(origin string) []byte {
	der := x509.MarshalPKCS1PrivateKey(e.key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	b, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": e.Project, "private_key_id": e.keyID,
		"private_key": string(pemKey), "client_email": e.email, "client_id": "100000000000000000001",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": origin + TokenPath,
	}, "", "  ")
	return b
}

// Exchanges counts the token exchanges answered, granted or refused.
func (e *Emulator) Exchanges() int64 { return e.exchange.Load() }

// RevokeKey deletes the service account's key: every exchange after it is
// refused with invalid_grant, as Google refuses a deleted key.
func (e *Emulator) RevokeKey() {
	e.mu.Lock()
	e.revoked = true
	e.mu.Unlock()
}

// SetClock replaces the clock tokens expire by (nil: the real one).
func (e *Emulator) SetClock(now func() time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	e.now = now
}

// Handle serves the token endpoint and the Vertex paths.
func (e *Emulator) Handle(ctx *fasthttp.RequestCtx) {
	if e.Faults.ServeFaults(ctx) {
		return
	}
	if string(ctx.Path()) == TokenPath {
		e.exchange.Add(1)
		e.token(ctx)
		return
	}
	e.Requests.Record(ctx)
	applied, _ := e.Faults.Apply(ctx)
	if applied {
		return
	}
	p, ok := parsePath(string(ctx.Path()))
	if !ok {
		fail(ctx, 404, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	if !ctx.IsPost() {
		fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed")
		return
	}
	if !e.authorized(ctx) {
		fail(ctx, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
		return
	}
	resource := "projects/" + p.project + "/locations/" + p.location + "/publishers/" + p.publisher + "/models/" + p.model
	if p.project != e.Project {
		fail(ctx, 403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/"+resource+"' (or it may not exist).")
		return
	}
	if p.publisher == "anthropic" && p.model == "count-tokens" && p.method == "rawPredict" {
		e.countClaude(ctx)
		return
	}
	if !served(p.publisher, p.model, p.location) {
		fail(ctx, 404, "NOT_FOUND", "Publisher Model `"+resource+"` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions")
		return
	}
	switch p.publisher {
	case "google":
		e.serveGemini(ctx, p)
	case "anthropic":
		e.serveClaude(ctx, p)
	}
}

// serveGemini answers a Gemini request as the Gemini API would, without
// the RetryInfo Vertex's 429s lack.
func (e *Emulator) serveGemini(ctx *fasthttp.RequestCtx, p path) {
	if p.method == "predict" {
		if _, ok := embeddingModels[p.model]; ok {
			e.serveEmbeddings(ctx, p)
			return
		}
	}
	switch p.method {
	case "generateContent", "streamGenerateContent":
	case "countTokens":
		// Vertex takes the request's members at the top level; the Gemini
		// API, a generateContentRequest naming its model.
		var body map[string]json.RawMessage
		if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
			return
		}
		body["model"], _ = json.Marshal("models/" + p.model)
		inner, _ := json.Marshal(map[string]any{"generateContentRequest": body})
		ctx.Request.SetBodyRaw(inner)
	default:
		fail(ctx, 400, "INVALID_ARGUMENT", "Method "+p.method+" is not supported for "+p.model+".")
		return
	}
	uri := "/v1beta/models/" + p.model + ":" + p.method
	if q := ctx.QueryArgs().QueryString(); len(q) > 0 {
		uri += "?" + string(q)
	}
	// The lane: flex when asked for at the global endpoint (the only one
	// that has it), else the standard pay-as-you-go lane.
	traffic := "ON_DEMAND"
	if string(ctx.Request.Header.Peek("X-Vertex-AI-LLM-Shared-Request-Type")) == "flex" && p.location == "global" {
		traffic = "ON_DEMAND_FLEX"
	}
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.Del("Authorization")
	ctx.Request.Header.Set("x-goog-api-key", innerKey)
	ctx.Request.Header.Set(emugemini.TrafficHeader, traffic)
	e.gemini.Handle(ctx)
}

// serveClaude answers a Claude request: the Messages body without model,
// with anthropic_version, on :rawPredict or :streamRawPredict.
func (e *Emulator) serveClaude(ctx *fasthttp.RequestCtx, p path) {
	var stream bool
	switch p.method {
	case "rawPredict":
	case "streamRawPredict":
		stream = true
	default:
		fail(ctx, 400, "INVALID_ARGUMENT", "Method "+p.method+" is not supported for "+p.model+".")
		return
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		claudeFail(ctx, 400, "invalid_request_error", "The request body is not valid JSON: "+err.Error())
		return
	}
	var version string
	_ = json.Unmarshal(body["anthropic_version"], &version)
	switch {
	case version == "":
		claudeFail(ctx, 400, "invalid_request_error", "anthropic_version: Field required")
		return
	case version != AnthropicVersion:
		claudeFail(ctx, 400, "invalid_request_error", "anthropic_version: Input should be '"+AnthropicVersion+"'")
		return
	case body["model"] != nil:
		claudeFail(ctx, 400, "invalid_request_error", "model: Extra inputs are not permitted")
		return
	}
	var streamed bool
	_ = json.Unmarshal(body["stream"], &streamed)
	if streamed != stream {
		claudeFail(ctx, 400, "invalid_request_error", "stream: "+p.method+" takes stream "+map[bool]string{true: "true", false: "false or none"}[stream])
		return
	}
	delete(body, "anthropic_version")
	model, _, _ := strings.Cut(p.model, "@") // Vertex's dated id names Anthropic's model
	body["model"], _ = json.Marshal(model)
	inner, _ := json.Marshal(body)
	ctx.Request.SetRequestURI("/v1/messages")
	ctx.Request.Header.Del("Authorization")
	ctx.Request.Header.Set("x-api-key", innerKey)
	ctx.Request.Header.Set("anthropic-version", "2023-06-01")
	ctx.Request.SetBodyRaw(inner)
	e.claude.Handle(ctx)
}

// countClaude answers count-tokens:rawPredict: the counted model named in
// the body, with anthropic_version, counted as Anthropic's count_tokens
// counts it.
func (e *Emulator) countClaude(ctx *fasthttp.RequestCtx) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		claudeFail(ctx, 400, "invalid_request_error", "The request body is not valid JSON: "+err.Error())
		return
	}
	var version, model string
	_ = json.Unmarshal(body["anthropic_version"], &version)
	_ = json.Unmarshal(body["model"], &model)
	switch {
	case version != AnthropicVersion:
		claudeFail(ctx, 400, "invalid_request_error", "anthropic_version: Input should be '"+AnthropicVersion+"'")
		return
	case model == "":
		claudeFail(ctx, 400, "invalid_request_error", "model: Field required")
		return
	}
	delete(body, "anthropic_version")
	model, _, _ = strings.Cut(model, "@")
	body["model"], _ = json.Marshal(model)
	inner, _ := json.Marshal(body)
	ctx.Request.SetRequestURI("/v1/messages/count_tokens")
	ctx.Request.Header.Del("Authorization")
	ctx.Request.Header.Set("x-api-key", innerKey)
	ctx.Request.Header.Set("anthropic-version", "2023-06-01")
	ctx.Request.SetBodyRaw(inner)
	e.claude.Handle(ctx)
}

// authorized reports whether the request carries a token the endpoint
// issued and that has not expired.
func (e *Emulator) authorized(ctx *fasthttp.RequestCtx) bool {
	tok, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, known := e.tokens[string(tok)]
	return known && e.now().Before(exp)
}

// path is a Vertex request path's parts.
type path struct {
	project, location, publisher, model, method string
}

// parsePath reads /v1/projects/{p}/locations/{l}/publishers/{pub}/models/{m}:{method}.
func parsePath(s string) (path, bool) {
	parts := strings.Split(strings.TrimPrefix(s, "/v1/"), "/")
	if len(parts) != 8 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "publishers" || parts[6] != "models" {
		return path{}, false
	}
	model, method, ok := strings.Cut(parts[7], ":")
	if !ok {
		return path{}, false
	}
	return path{project: parts[1], location: parts[3], publisher: parts[5], model: model, method: method}, true
}

// fail answers in Vertex's google.rpc.Status shape.
func fail(ctx *fasthttp.RequestCtx, status int, code, message string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": message, "status": code}})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.SetBody(b)
}

// claudeFail answers in Anthropic's error shape, which Vertex passes on
// for Claude's own validation.
func claudeFail(ctx *fasthttp.RequestCtx, status int, typ, message string) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": message}})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
