package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/server/console"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// chromium finds Debian's Chromium; CI must have it (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is missing; .ci/run must install Debian's chromium package")
	}
	t.Skip("Chromium is not installed (apt-get install chromium)")
	return ""
}

// TestConsoleInABrowser drives the console in headless Chromium as a team
// lead would: sign in, create a workspace, add credit, create a key with
// limits and copy its secret, use it through the gateway, see the
// request and the spend in the table and the chart, revoke the key, and
// see the gateway refuse it. With OPENTOKEN_CONSOLE_SCREENSHOTS set to a
// folder, each page's screenshot is written there (docs/console).
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(t.TempDir(), "spill"), Refresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, gatewaytest.Options{Tenancy: tn})
	t.Cleanup(func() { _ = gw.Server.Shutdown(); _ = tn.Close() })
	_, adminToken, err := db.CreateAdminToken(ctx, "team lead", "")
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := seal.New(seal.NewKey())
	con, err := console.New(console.Options{Admin: &admin.Service{Store: db}, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(con)
	defer site.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	bctx, cancel := context.WithTimeout(browserCtx, 90*time.Second)
	defer cancel()

	shots := os.Getenv("OPENTOKEN_CONSOLE_SCREENSHOTS")
	shoot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if shots == "" {
				return nil
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// Reads are one JavaScript evaluation each, which holds no node handle
	// that a re-render could make stale between finding and reading.
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).textContent`))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	// Sign in.
	do("sign-in page", chromedp.Navigate(site.URL+"/keys"), chromedp.WaitVisible(css("#token")), shoot("signin"))
	do("sign in", chromedp.SendKeys(css("#token"), adminToken), chromedp.Submit(css("#token")), chromedp.WaitVisible(css("#total-spend")))

	// A workspace, and credit for it.
	do("create a workspace", chromedp.Navigate(site.URL+"/workspaces"), chromedp.WaitVisible(css("#ws-name")),
		chromedp.SendKeys(css("#ws-name"), "platform"), chromedp.Submit(css("#ws-name")), chromedp.WaitVisible(css(`[data-notice="workspace"]`)))
	do("add credit", chromedp.SendKeys(css(`input[name="usd"]`), "25"), chromedp.Submit(css(`input[name="usd"]`)),
		chromedp.WaitVisible(css(`[data-notice="credit"]`)), shoot("workspaces"))
	if got := text(`[data-balance="platform"]`); got != "$25" {
		t.Fatalf("the balance after adding $25: %q", got)
	}

	// A key with limits; its secret, copied from the page shown once.
	do("create a key", chromedp.Navigate(site.URL+"/keys"), chromedp.WaitVisible(css("#k-name")),
		chromedp.SendKeys(css("#k-name"), "billing-service"), chromedp.SendKeys(css("#k-rpm"), "30"),
		chromedp.SendKeys(css("#k-tpm"), "100000"), chromedp.SendKeys(css("#k-mc"), "4"),
		chromedp.SendKeys(css("#k-lim"), "5"), chromedp.SetValue(css("#k-rst"), "daily"),
		chromedp.Submit(css("#k-name")), chromedp.WaitVisible(css("#secret")))
	secret, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("secret").value`))
	if err != nil {
		t.Fatal(err)
	}
	do("copy the secret", chromedp.Click(css("#copy")))
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("copy").textContent === "Copied"`)); err != nil {
		t.Fatalf("the Copy button: %v", err)
	}
	do("the secret's page", shoot("key-created"))
	if !strings.HasPrefix(secret, store.KeyPrefix) {
		t.Fatalf("the secret shown: %q", secret)
	}
	do("keys page", chromedp.Navigate(site.URL+"/keys"), chromedp.WaitVisible(css("#k-name")), shoot("keys"))
	keysPage, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(keysPage, secret) || !strings.Contains(keysPage, secret[:14]) || !strings.Contains(keysPage, "100,000") {
		t.Fatal("the keys page shows the secret again, or not the key with its limits")
	}

	// The key through the gateway: answered, with its limits' headers.
	waitFor(t, func() bool { return gw.Do(t, http.MethodGet, "/v1/key", secret, nil).Status == 200 })
	chat := []byte(`{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello from the console test"}]}`)
	r := gw.Do(t, http.MethodPost, "/v1/chat/completions", secret, chat)
	if r.Status != 200 || r.Header.Get("x-ratelimit-limit-requests") != "30" {
		t.Fatalf("the new key at the gateway: %d %q %s", r.Status, r.Header.Get("x-ratelimit-limit-requests"), r.Body)
	}
	// Two more models, so that the chart has series to tell apart.
	for _, body := range []string{
		`{"model":"anthropic/claude-sonnet-4-6","max_tokens":200,"messages":[{"role":"user","content":"summarise the quarter"}]}`,
		`{"model":"google/gemini-3.1-pro","messages":[{"role":"user","content":"draft the release notes"}]}`,
	} {
		if r := gw.Do(t, http.MethodPost, "/v1/chat/completions", secret, []byte(body)); r.Status != 200 {
			t.Fatalf("the new key at the gateway: %d %s", r.Status, r.Body)
		}
	}
	tn.Flush()

	// The requests and their spend appear.
	do("requests page", chromedp.Navigate(site.URL+"/requests"), chromedp.WaitVisible(css("#requests")), shoot("requests"))
	if rows := text("#requests tbody"); !strings.Contains(rows, "google/gemini-3-flash") || !strings.Contains(rows, "billing-service") {
		t.Fatalf("the requests page lacks the request: %q", rows)
	}
	do("usage page", chromedp.Navigate(site.URL+"/usage"), chromedp.WaitVisible(css("#total-spend")), shoot("usage"))
	bars, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg rect").length`))
	if err != nil {
		t.Fatal(err)
	}
	if spend := text("#total-spend"); spend == "$0.0000" || bars == 0 {
		t.Fatalf("the usage page: spend %q, %d bars drawn", spend, bars)
	}
	if table := text("#breakdown tbody"); !strings.Contains(table, "google/gemini-3-flash") {
		t.Fatalf("the usage table lacks the model: %q", table)
	}
	do("models page", chromedp.Navigate(site.URL+"/models"), chromedp.WaitVisible(css("main table")), shoot("models"))

	// Revoked in the console, refused at the gateway.
	do("revoke", chromedp.Navigate(site.URL+"/keys"), chromedp.WaitVisible(css("#k-name")),
		chromedp.Click(css(`button[aria-label="Revoke key `+secret[:14]+`"]`)), chromedp.WaitVisible(css(`[data-notice="revoked"]`)), chromedp.WaitVisible(css(".state-revoked")))
	waitFor(t, func() bool { return gw.Do(t, http.MethodPost, "/v1/chat/completions", secret, chat).Status == 401 })

	// Keyboard: the skip link is the first stop and lands on the content.
	do("keyboard", chromedp.Navigate(site.URL+"/usage"), chromedp.WaitVisible(css("#total-spend")), chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if focused != "Skip to content" {
		t.Errorf("the first tab stop is %q, want the skip link", focused)
	}
}

// waitFor polls cond until it holds, for at most ten seconds: the
// gateway's view of the keys refreshes every 50 ms here.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the gateway never saw the change")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
