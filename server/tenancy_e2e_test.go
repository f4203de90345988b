package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// TestIssuedKeys: keys issued in the database are served, billed to the
// ledger (buffered, streamed, embeddings), and refused with the docs'
// codes when revoked, out of credit or over their limit; operator keys
// stay unmetered.
func TestIssuedKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = db.CreateWorkspace(ctx, "acme")
	_ = db.AddCredit(ctx, "acme", store.FromDollars(1), "test")
	limit := store.FromDollars(0.00002)
	_, secret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "app"})
	capped, cappedSecret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "capped", SpendLimit: &limit, LimitReset: store.ResetDaily})
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(dir, "spill")})
	if err != nil {
		t.Fatal(err)
	}
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn})
	post := func(key, path, body string) *gatewaytest.Response {
		return env.Do(t, http.MethodPost, path, key, []byte(body))
	}
	chat := `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello there"}]}`
	if r := post(secret, "/v1/chat/completions", chat); r.Status != 200 {
		t.Fatalf("an issued key: %d %s", r.Status, r.Body)
	}
	if r := post(secret, "/v1/chat/completions", strings.Replace(chat, `"messages"`, `"stream":true,"messages"`, 1)); r.Status != 200 {
		t.Fatalf("an issued key, streamed: %d %s", r.Status, r.Body)
	}
	if r := post(secret, "/v1/embeddings", `{"model":"google/gemini-embedding-001","input":["a","b"]}`); r.Status != 200 {
		t.Fatalf("an issued key, embeddings: %d %s", r.Status, r.Body)
	}
	// A client's X-Request-Id names its answers in the logs; sent twice,
	// it is still two answers, each billed (the ledger's own batch ids
	// keep a replay from writing twice, not the client's id).
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions", strings.NewReader(chat))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("X-Request-Id", "client-chosen-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if r := gatewaytest.ReadResponse(t, resp); r.Status != 200 || r.Header.Get("X-Request-Id") != "client-chosen-1" {
			t.Fatalf("under a client's request id: %d %s %q", r.Status, r.Body, r.Header.Get("X-Request-Id"))
		}
	}
	if r := post(gatewaytest.ClientKey, "/v1/chat/completions", chat); r.Status != 200 {
		t.Fatalf("an operator key: %d", r.Status)
	}
	// Over the limit after one answer: the next is refused at once.
	if r := post(cappedSecret, "/v1/chat/completions", chat); r.Status != 200 {
		t.Fatalf("the capped key's first request: %d %s", r.Status, r.Body)
	}
	if r := post(cappedSecret, "/v1/chat/completions", chat); r.Status != 429 || !strings.Contains(string(r.Body), `"code":"spend_limit_exceeded"`) || r.Header.Get("Retry-After") == "" {
		t.Errorf("over the limit: %d %s", r.Status, r.Body)
	}
	// Reading the models costs nothing: a key refused for money still
	// reads them (and itself, below).
	_, _ = db.CreateWorkspace(ctx, "broke")
	_, brokeSecret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "broke", Name: "no credit"})
	waitForKey(t, env, brokeSecret)
	if r := post(brokeSecret, "/v1/chat/completions", chat); r.Status != 402 {
		t.Errorf("a key without credit: %d %s", r.Status, r.Body)
	}
	for _, key := range []string{cappedSecret, brokeSecret} {
		for _, path := range []string{"/v1/models", "/v1/models/google/gemini-3-flash"} {
			if r := env.Do(t, http.MethodGet, path, key, nil); r.Status != 200 {
				t.Errorf("GET %s with a key refused for money: %d %s", path, r.Status, r.Body)
			}
		}
	}
	// GET /v1/key.
	var info struct {
		Data struct {
			Name            string   `json:"name"`
			Workspace       string   `json:"workspace"`
			Metered         bool     `json:"metered"`
			Usage           *float64 `json:"usage_usd"`
			LimitRemaining  *float64 `json:"limit_remaining_usd"`
			CreditRemaining float64  `json:"credit_remaining_usd"`
		} `json:"data"`
	}
	// Right after a 429, and after the ledger took the answer that caused
	// it (before the next refresh), the key sees that spend.
	tn.Flush()
	r := env.Do(t, http.MethodGet, "/v1/key", cappedSecret, nil)
	if err := json.Unmarshal(r.Body, &info); err != nil || info.Data.Name != "capped" || info.Data.Workspace != "acme" || !info.Data.Metered ||
		info.Data.Usage == nil || *info.Data.Usage <= 0 || *info.Data.LimitRemaining != 0 || info.Data.CreditRemaining >= 1 {
		t.Errorf("/v1/key: %d %s", r.Status, r.Body)
	}
	if r := env.Do(t, http.MethodGet, "/v1/key", gatewaytest.ClientKey, nil); !strings.Contains(string(r.Body), `"metered":false`) {
		t.Errorf("/v1/key, operator: %s", r.Body)
	}
	// The ledger has every answer of the issued keys, and only those.
	tn.Flush()
	rows, err := db.Usage(ctx, store.UsageFilter{})
	requests := int64(0)
	for _, row := range rows {
		requests += row.Requests
	}
	if err != nil || requests != 6 {
		t.Errorf("the ledger: %v, %d requests, want 6: %+v", err, requests, rows)
	}
	bal, _ := db.Balance(ctx, "acme")
	if bal >= store.FromDollars(1) || bal <= 0 {
		t.Errorf("balance %v after the answers", bal.Dollars())
	}
	// Revoked in the database (by the CLI, or on another replica): refused
	// within a second.
	if _, err := db.RevokeKey(ctx, capped.Prefix); err != nil {
		t.Fatal(err)
	}
	_, _ = db.RevokeKey(ctx, secret[:14])
	deadline := time.Now().Add(time.Second)
	for {
		r := post(secret, "/v1/chat/completions", chat)
		if r.Status == 401 && strings.Contains(string(r.Body), `"code":"invalid_key"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still served after 1 s: %d", r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	env.Server.Shutdown()
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
	// No log line carries a key or its hash.
	for _, s := range []string{secret, cappedSecret, store.HashSecret(secret), store.HashSecret(cappedSecret)} {
		if strings.Contains(env.Log.String(), s) {
			t.Errorf("the log carries a key or its hash: %.20s...", s)
		}
	}
}

// waitForKey waits for a key created in the database to be served (within
// one refresh).
func waitForKey(t *testing.T, env *gatewaytest.Env, secret string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for env.Do(t, http.MethodGet, "/v1/key", secret, nil).Status == 401 {
		if time.Now().After(deadline) {
			t.Fatal("a new key was not served within 2 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
