package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/internal/pgtest"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// ledger opens a fresh database at url with a funded workspace "acme".
func ledger(t *testing.T, url string) store.Store {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateWorkspace(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCredit(ctx, "acme", store.FromDollars(100), "test"); err != nil {
		t.Fatal(err)
	}
	return db
}

// oneMinute runs f until it ran within one UTC minute (the rates' window),
// at most three times: a run the minute turned during was counted from
// zero halfway, and proves nothing.
func oneMinute(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		start := time.Now().Unix() / 60
		ok := t.Run("attempt"+strconv.Itoa(attempt), f)
		if start == time.Now().Unix()/60 || attempt == 3 || !ok {
			return
		}
	}
}

// TestRateLimits: a key's RPM, TPM and concurrency each refuse at the
// limit with 429 rate_limit_exceeded in the door's own envelope,
// Retry-After and the x-ratelimit headers, which every answer of a
// limited key carries; free endpoints are not counted; an operator key is
// limited by OPENTOKEN_OPERATOR_RPM.
func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	db := ledger(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(t.TempDir(), "spill")})
	if err != nil {
		t.Fatal(err)
	}
	env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn, OperatorRPM: 2})
	t.Cleanup(func() { _ = env.Server.Shutdown(); _ = tn.Close() })
	chat := `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello there"}]}`
	messages := `{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"hello there"}]}`
	post := func(key, path, body string) *gatewaytest.Response {
		return env.Do(t, http.MethodPost, path, key, []byte(body))
	}

	t.Run("rpm", func(t *testing.T) {
		oneMinute(t, func(t *testing.T) {
			_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "rpm" + strconv.FormatInt(time.Now().UnixNano(), 36), Rates: store.Rates{RPM: 3}})
			if err != nil {
				t.Fatal(err)
			}
			waitForKey(t, env, secret)
			for i := range 3 {
				r := post(secret, "/v1/chat/completions", chat)
				if r.Status != 200 || r.Header.Get("x-ratelimit-limit-requests") != "3" || r.Header.Get("x-ratelimit-remaining-requests") != strconv.Itoa(2-i) {
					t.Fatalf("request %d: %d, limit %q remaining %q: %s", i+1, r.Status, r.Header.Get("x-ratelimit-limit-requests"),
						r.Header.Get("x-ratelimit-remaining-requests"), r.Body)
				}
				if reset := r.Header.Get("x-ratelimit-reset-requests"); !strings.HasSuffix(reset, "s") || r.Header.Get("x-ratelimit-limit-tokens") != "" {
					t.Errorf("reset %q, tokens limit %q: want a reset such as 42s and no tokens headers", reset, r.Header.Get("x-ratelimit-limit-tokens"))
				}
			}
			// Free endpoints count nothing and still say where the key stands.
			if r := env.Do(t, http.MethodGet, "/v1/key", secret, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"rpm":3`) {
				t.Errorf("GET /v1/key: %d %s", r.Status, r.Body)
			}
			r := post(secret, "/v1/chat/completions", chat)
			var e struct {
				Error struct{ Type, Code, Message string }
			}
			_ = json.Unmarshal(r.Body, &e)
			retry, _ := strconv.Atoi(r.Header.Get("Retry-After"))
			if r.Status != 429 || e.Error.Code != "rate_limit_exceeded" || e.Error.Type != "requests" || retry < 1 || retry > 60 ||
				r.Header.Get("x-ratelimit-remaining-requests") != "0" {
				t.Errorf("the fourth request: %d Retry-After %q remaining %q %s", r.Status, r.Header.Get("Retry-After"), r.Header.Get("x-ratelimit-remaining-requests"), r.Body)
			}
			// Every billed door counts against the same minute.
			for _, door := range []struct{ path, body string }{
				{"/v1/embeddings", `{"model":"google/gemini-embedding-001","input":"hi"}`},
				{"/v1/responses", `{"model":"google/gemini-3-flash","input":"hi"}`},
			} {
				if r := post(secret, door.path, door.body); r.Status != 429 || !strings.Contains(string(r.Body), "rate_limit_exceeded") {
					t.Errorf("%s over the RPM: %d %s", door.path, r.Status, r.Body)
				}
			}
			// The Messages door refuses in Anthropic's envelope.
			m := env.Messages(t, "/v1/messages", messages, "x-api-key", secret)
			if m.Status != 429 || !strings.Contains(string(m.Body), `"type":"rate_limit_error"`) || m.Header.Get("Retry-After") == "" {
				t.Errorf("the Messages door: %d %s", m.Status, m.Body)
			}
			// with Anthropic's own headers beside OpenAI's.
			reset, err := time.Parse(time.RFC3339, m.Header.Get("anthropic-ratelimit-requests-reset"))
			if m.Header.Get("anthropic-ratelimit-requests-limit") != "3" || m.Header.Get("anthropic-ratelimit-requests-remaining") != "0" ||
				err != nil || reset.Before(time.Now().Add(-time.Second)) || reset.After(time.Now().Add(61*time.Second)) {
				t.Errorf("Anthropic's rate-limit headers: %v (%v)", m.Header, err)
			}
		})
	})

	t.Run("tpm", func(t *testing.T) {
		oneMinute(t, func(t *testing.T) {
			_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "tpm" + strconv.FormatInt(time.Now().UnixNano(), 36), Rates: store.Rates{TPM: 60}})
			if err != nil {
				t.Fatal(err)
			}
			waitForKey(t, env, secret)
			// The emulator's answer uses some tokens; the key has 60 a
			// minute, so a few answers spend them.
			admitted := 0
			var last *gatewaytest.Response
			for range 30 {
				last = post(secret, "/v1/chat/completions", chat)
				if last.Status != 200 {
					break
				}
				admitted++
				if last.Header.Get("x-ratelimit-limit-tokens") != "60" {
					t.Fatalf("tokens limit header %q", last.Header.Get("x-ratelimit-limit-tokens"))
				}
			}
			if admitted == 0 || admitted == 30 || last.Status != 429 || !strings.Contains(string(last.Body), `"type":"tokens"`) ||
				last.Header.Get("Retry-After") == "" || last.Header.Get("x-ratelimit-remaining-tokens") == "" {
				t.Errorf("after %d answers: %d %s", admitted, last.Status, last.Body)
			}
			// A request alone larger than the limit can never be admitted.
			huge := `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"` + strings.Repeat("word ", 100) + `"}]}`
			if r := post(secret, "/v1/chat/completions", huge); r.Status != 429 || !strings.Contains(string(r.Body), "cannot be admitted") || r.Header.Get("Retry-After") != "" {
				t.Errorf("a request over the whole limit: %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
			}
		})
	})

	t.Run("concurrency", func(t *testing.T) {
		_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "conc", Rates: store.Rates{MaxConcurrent: 2}})
		if err != nil {
			t.Fatal(err)
		}
		waitForKey(t, env, secret)
		// Two requests held by a stalled upstream fill the key's slots.
		hang := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			arrived := make(chan struct{})
			env.Gemini.Faults.Push(emulator.Fault{Hang: hang, Arrived: arrived})
			wg.Add(1)
			go func() { defer wg.Done(); post(secret, "/v1/chat/completions", chat) }()
			<-arrived
		}
		r := post(secret, "/v1/chat/completions", chat)
		if r.Status != 429 || !strings.Contains(string(r.Body), "requests in flight") || r.Header.Get("Retry-After") != "1" {
			t.Errorf("a third at once: %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		close(hang)
		wg.Wait()
		if r := post(secret, "/v1/chat/completions", chat); r.Status != 200 {
			t.Errorf("once they ended: %d %s", r.Status, r.Body)
		}
	})

	t.Run("operator", func(t *testing.T) {
		oneMinute(t, func(t *testing.T) {
			// The second operator key of the test server: its own count.
			key := "sk-optk-second-key"
			codes := []int{}
			for range 3 {
				codes = append(codes, post(key, "/v1/chat/completions", chat).Status)
			}
			if codes[0] != 200 || codes[2] != 429 {
				t.Errorf("an operator key under OPENTOKEN_OPERATOR_RPM=2: %v", codes)
			}
		})
	})
}

// TestRateLimitReplicasOnPostgreSQL: two replicas on one PostgreSQL,
// racing one key's RPM with 40 requests each at once, admit exactly its
// limit together — never more (the documented bound for RPM).
func TestRateLimitReplicasOnPostgreSQL(t *testing.T) {
	url := pgtest.Start(t)
	db := ledger(t, url)
	var envs []*gatewaytest.Env
	for range 2 {
		rdb, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		tn, err := tenancy.Start(context.Background(), tenancy.Options{Store: rdb, SpillPath: filepath.Join(t.TempDir(), "spill"), Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		env := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn})
		t.Cleanup(func() { _ = env.Server.Shutdown(); _ = tn.Close() })
		envs = append(envs, env)
	}
	chat := []byte(`{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello there"}]}`)
	const limit = 25
	oneMinute(t, func(t *testing.T) {
		_, secret, err := db.CreateKey(context.Background(), store.NewKey{Workspace: "acme", Name: "race" + strconv.FormatInt(time.Now().UnixNano(), 36), Rates: store.Rates{RPM: limit}})
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range envs {
			waitForKey(t, env, secret)
		}
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for _, env := range envs {
			for range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := env.Do(t, http.MethodPost, "/v1/chat/completions", secret, chat)
					mu.Lock()
					codes[r.Status]++
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		if codes[200] != limit || codes[429] != 80-limit {
			t.Errorf("two replicas answered %v to 80 requests racing an RPM of %d: want exactly %d admitted", codes, limit, limit)
		}
	})
}
