package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/server/console"
	"github.com/opentoken/opentoken/store"
)

// counting counts the database's queries a page makes.
type counting struct {
	store.Store
	n atomic.Int64
}

func (c *counting) Workspaces(ctx context.Context, id int64) ([]store.WorkspaceSummary, error) {
	c.n.Add(1)
	return c.Store.Workspaces(ctx, id)
}
func (c *counting) ListKeys(ctx context.Context, ws string) ([]store.Key, error) {
	c.n.Add(1)
	return c.Store.ListKeys(ctx, ws)
}
func (c *counting) DailyUsage(ctx context.Context, f store.DailyFilter) ([]store.DailyUsage, error) {
	c.n.Add(1)
	return c.Store.DailyUsage(ctx, f)
}
func (c *counting) Requests(ctx context.Context, f store.RequestFilter) ([]store.Request, int64, error) {
	c.n.Add(1)
	return c.Store.Requests(ctx, f)
}
func (c *counting) AdminTokenByID(ctx context.Context, id int64) (store.AdminToken, error) {
	c.n.Add(1)
	return c.Store.AdminTokenByID(ctx, id)
}

type fixture struct {
	db      *counting
	srv     *httptest.Server
	log     *bytes.Buffer
	root    string // an admin token for every workspace
	scoped  string // one for workspace acme alone
	secrets []string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: &counting{Store: st}, log: &bytes.Buffer{}}
	for _, ws := range []string{"acme", "globex"} {
		if _, err := st.CreateWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
		_, secret, err := st.CreateKey(ctx, store.NewKey{Workspace: ws, Name: ws + "-app"})
		if err != nil {
			t.Fatal(err)
		}
		f.secrets = append(f.secrets, secret)
	}
	// A billed answer of each workspace's key, for the usage pages.
	keys, _ := st.ListKeys(ctx, "")
	now := time.Now()
	var recs []store.UsageRecord
	for _, k := range keys {
		recs = append(recs, store.UsageRecord{RequestID: "req_" + k.Workspace, KeyID: k.ID, WorkspaceID: k.WorkspaceID, Model: "google/gemini-3-flash",
			Prompt: 100, Completion: 20, Cost: store.FromDollars(0.001), Status: 200, StartedAt: now, FinishedAt: now})
	}
	if err := st.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: recs}); err != nil {
		t.Fatal(err)
	}
	if _, f.root, err = st.CreateAdminToken(ctx, "lead", ""); err != nil {
		t.Fatal(err)
	}
	if _, f.scoped, err = st.CreateAdminToken(ctx, "acme-lead", "acme"); err != nil {
		t.Fatal(err)
	}
	sealer, _ := seal.New(seal.NewKey())
	c, err := console.New(console.Options{Admin: &admin.Service{Store: f.db}, Sealer: sealer,
		Log: slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})), SignInRPM: 5})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(c)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs c in with token and returns the session's CSRF secret.
func (f *fixture) signIn(t *testing.T, c *http.Client, token string) string {
	t.Helper()
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	status, _, h := post(t, c, f.srv.URL+"/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {token}})
	if status != http.StatusSeeOther || h.Get("Location") != "/usage" {
		t.Fatalf("sign-in: %d to %q", status, h.Get("Location"))
	}
	_, page, _ = get(t, c, f.srv.URL+"/keys")
	return csrfOf(t, page)
}

// TestConsoleNeedsASession: no page and no action without a session.
func TestConsoleNeedsASession(t *testing.T) {
	f := setup(t)
	c := browser(t)
	for _, p := range []string{"/", "/usage", "/requests", "/keys", "/workspaces", "/models"} {
		if status, _, h := get(t, c, f.srv.URL+p); status != http.StatusSeeOther || h.Get("Location") != "/signin" {
			t.Errorf("GET %s without a session: %d to %q", p, status, h.Get("Location"))
		}
	}
	for _, p := range []string{"/workspaces", "/workspaces/credit", "/keys", "/keys/update", "/keys/revoke", "/signout"} {
		if status, _, _ := post(t, c, f.srv.URL+p, url.Values{"name": {"x"}, "csrf": {"00"}}); status != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d", p, status)
		}
	}
	// A forged cookie is no session either.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/keys", nil)
	req.AddCookie(&http.Cookie{Name: "opentoken_console", Value: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a forged session cookie: %v %v", resp.StatusCode, err)
	}
}

// TestConsoleSignIn: the form's CSRF secret, a wrong token, the cookie's
// flags, the attempts' limit, and the token in no log line or page.
func TestConsoleSignIn(t *testing.T) {
	f := setup(t)
	c := browser(t)
	get(t, c, f.srv.URL+"/signin") // its CSRF cookie, and a forged field
	if status, _, _ := post(t, c, f.srv.URL+"/signin", url.Values{"csrf": {"forged"}, "token": {f.root}}); status != http.StatusForbidden {
		t.Errorf("a forged sign-in CSRF: %d", status)
	}
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	if status, body, _ := post(t, c, f.srv.URL+"/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {f.root + "x"}}); status != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("a wrong token: %d", status)
	}
	// Over TLS (a proxy says so) the session cookie is Secure.
	_, page, _ = get(t, c, f.srv.URL+"/signin")
	form := url.Values{"csrf": {csrfOf(t, page)}, "token": {f.root}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "opentoken_console" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, f.root) {
		t.Fatalf("the session cookie: %+v", session)
	}
	for _, p := range []string{"/usage", "/keys", "/workspaces", "/requests", "/models"} {
		status, body, h := get(t, c, f.srv.URL+p)
		if status != 200 || strings.Contains(body, f.root) || h.Get("Content-Security-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s signed in: %d, CSP %q", p, status, h.Get("Content-Security-Policy"))
		}
	}
	// Sign-in attempts are limited per address (5 a minute here).
	limited := false
	for range 8 {
		_, page, _ := get(t, c, f.srv.URL+"/signin")
		if status, _, h := post(t, c, f.srv.URL+"/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {"ot-admin-guess"}}); status == http.StatusTooManyRequests && h.Get("Retry-After") != "" {
			limited = true
		}
	}
	if !limited {
		t.Error("eight sign-in attempts in a row were never limited")
	}
	if strings.Contains(f.log.String(), f.root) || strings.Contains(f.log.String(), f.root[len(store.AdminTokenPrefix)+6:]) {
		t.Error("the admin token is in the log")
	}
}

// TestConsoleCSRF: every action refuses a missing or forged CSRF token,
// and takes the session's own.
func TestConsoleCSRF(t *testing.T) {
	f := setup(t)
	c := browser(t)
	csrf := f.signIn(t, c, f.root)
	for _, token := range []string{"", "forged", strings.Repeat("0", len(csrf))} {
		if status, _, _ := post(t, c, f.srv.URL+"/workspaces", url.Values{"csrf": {token}, "name": {"initech"}}); status != http.StatusForbidden {
			t.Errorf("CSRF %q: %d", token, status)
		}
	}
	if status, _, h := post(t, c, f.srv.URL+"/workspaces", url.Values{"csrf": {csrf}, "name": {"initech"}}); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=workspace") {
		t.Errorf("with the session's CSRF: %d", status)
	}
	// Another session's secret is not this one's.
	other := browser(t)
	otherCSRF := f.signIn(t, other, f.root)
	if status, _, _ := post(t, c, f.srv.URL+"/workspaces", url.Values{"csrf": {otherCSRF}, "name": {"umbrella"}}); status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d", status)
	}
}

// TestConsoleKeys: a key's secret is shown once, on its creation's answer
// alone; bad input is a 400 with the reason; limits change; revoking
// shows.
func TestConsoleKeys(t *testing.T) {
	f := setup(t)
	c := browser(t)
	csrf := f.signIn(t, c, f.root)
	status, body, h := post(t, c, f.srv.URL+"/keys", url.Values{"csrf": {csrf}, "workspace": {"acme"}, "name": {"ci"}, "rpm": {"60"}, "tpm": {"10000"}, "max_concurrent": {"2"}, "limit_usd": {"5"}, "limit_reset": {"daily"}})
	secret := regexp.MustCompile(`id="secret" readonly value="(sk-optk-[0-9A-Za-z]+)"`).FindStringSubmatch(body)
	if status != 200 || secret == nil || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("creating a key: %d %q", status, h.Get("Cache-Control"))
	}
	_, keys, _ := get(t, c, f.srv.URL+"/keys")
	if strings.Contains(keys, secret[1]) || !strings.Contains(keys, secret[1][:14]) {
		t.Error("the keys page shows the secret again, or not the key")
	}
	for _, bad := range []url.Values{
		{"workspace": {"acme"}, "name": {"x"}, "rpm": {"-3"}},
		{"workspace": {"acme"}, "name": {"x"}, "limit_usd": {"5"}},
		{"workspace": {"acme"}, "name": {"x"}, "expires": {"2001-01-01T00:00:00Z"}},
		{"workspace": {"acme"}, "name": {""}},
	} {
		bad.Set("csrf", csrf)
		if status, body, _ := post(t, c, f.srv.URL+"/keys", bad); status != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
			t.Errorf("bad key %v: %d", bad, status)
		}
	}
	if status, _, _ := post(t, c, f.srv.URL+"/keys/update", url.Values{"csrf": {csrf}, "key": {secret[1][:14]}, "rpm": {"0"}, "tpm": {"500"}}); status != http.StatusSeeOther {
		t.Errorf("update: %d", status)
	}
	k, _ := f.db.UpdateKey(context.Background(), secret[1][:14], store.KeyUpdate{})
	if k.RPM != 0 || k.TPM != 500 || k.MaxConcurrent != 2 {
		t.Errorf("after the update the key has %+v", k.Rates)
	}
	if status, _, _ := post(t, c, f.srv.URL+"/keys/revoke", url.Values{"csrf": {csrf}, "key": {secret[1][:14]}}); status != http.StatusSeeOther {
		t.Errorf("revoke: %d", status)
	}
	if _, keys, _ := get(t, c, f.srv.URL+"/keys?done=revoked"); !strings.Contains(keys, "state-revoked") || !strings.Contains(keys, "Key revoked") {
		t.Error("the revoked key is not shown revoked")
	}
}

// TestConsoleScope: a token scoped to acme sees acme alone and changes
// nothing of globex's.
func TestConsoleScope(t *testing.T) {
	f := setup(t)
	c := browser(t)
	csrf := f.signIn(t, c, f.scoped)
	for _, p := range []string{"/workspaces", "/keys", "/usage", "/usage?group=key", "/requests"} {
		_, body, _ := get(t, c, f.srv.URL+p)
		if strings.Contains(body, "globex") || !strings.Contains(body, "acme") {
			t.Errorf("%s shows globex to acme's token, or not acme", p)
		}
	}
	// The operator's token sees both.
	root := browser(t)
	f.signIn(t, root, f.root)
	if _, body, _ := get(t, root, f.srv.URL+"/requests"); !strings.Contains(body, "req_globex") || !strings.Contains(body, "req_acme") {
		t.Error("the unscoped token does not see both workspaces' requests")
	}
	globexKey := f.secrets[1][:14]
	before, _ := f.db.Balance(context.Background(), "globex")
	for _, action := range []struct {
		path string
		form url.Values
	}{
		{"/keys/revoke", url.Values{"key": {globexKey}}},
		{"/keys/update", url.Values{"key": {globexKey}, "rpm": {"1"}}},
		{"/workspaces/credit", url.Values{"workspace": {"globex"}, "usd": {"5"}}},
		{"/keys", url.Values{"workspace": {"globex"}, "name": {"sneaky"}}},
		{"/workspaces", url.Values{"name": {"new"}}},
	} {
		action.form.Set("csrf", csrf)
		if status, _, _ := post(t, c, f.srv.URL+action.path, action.form); status < 400 {
			t.Errorf("acme's token %s %v: %d", action.path, action.form, status)
		}
	}
	keys, _ := f.db.ListKeys(context.Background(), "globex")
	if len(keys) != 1 || keys[0].RevokedAt != nil || keys[0].RPM != 0 {
		t.Errorf("globex's keys changed: %+v", keys)
	}
	if bal, _ := f.db.Balance(context.Background(), "globex"); bal != before {
		t.Errorf("globex's balance moved from %v to %v", before, bal)
	}
}

// TestConsoleRevokedToken: revoking an admin token ends its sessions.
func TestConsoleRevokedToken(t *testing.T) {
	f := setup(t)
	c := browser(t)
	f.signIn(t, c, f.scoped)
	if _, err := f.db.RevokeAdminToken(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, c, f.srv.URL+"/keys"); status != http.StatusSeeOther {
		t.Errorf("a revoked token's session: %d", status)
	}
}

// TestConsolePagesQueryBoundedly: a page costs at most three queries
// (the session's token and its own), however much there is.
func TestConsolePagesQueryBoundedly(t *testing.T) {
	f := setup(t)
	c := browser(t)
	f.signIn(t, c, f.root)
	for _, p := range []string{"/usage", "/usage?group=key", "/requests", "/keys", "/workspaces", "/models"} {
		f.db.n.Store(0)
		if status, _, _ := get(t, c, f.srv.URL+p); status != 200 {
			t.Errorf("%s: %d", p, status)
		}
		if n := f.db.n.Load(); n > 3 {
			t.Errorf("%s made %d queries, want at most 3", p, n)
		}
	}
}
