// Package console is the gateway's web console: server-rendered pages
// (html/template, embedded) over the admin service, for a team lead to
// manage workspaces, credit and keys and to see usage without SQL.
//
// A console user signs in with an admin token (opentoken admin-token
// create). The session is a cookie sealed with the gateway's sealing key
// — HttpOnly, SameSite=Strict, Secure over TLS — that names the token and
// carries the session's CSRF secret; every request checks the token is
// still unrevoked, and every form posts the CSRF secret back. Sign-in
// attempts are limited per client address. A token scoped to a workspace
// sees and changes that workspace alone.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults of Options.
const (
	DefaultSessionTTL = 12 * time.Hour
	// DefaultSignInRPM bounds sign-in attempts per client address.
	DefaultSignInRPM = 10
)

// Cookie names.
const (
	sessionCookie = "opentoken_console"
	signinCookie  = "opentoken_signin" // the sign-in form's CSRF secret
)

// sessionPurpose is sealed with a session, so that nothing else the
// gateway seals (the Responses door's reasoning) passes for one.
const sessionPurpose = "console-session/1"

// Options configure a Console.
type Options struct {
	Admin  *admin.Service
	Sealer *seal.Sealer
	Log    *slog.Logger
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// SignInRPM bounds sign-in attempts per client address per minute.
	SignInRPM int64
}

// Console serves the console's pages.
type Console struct {
	admin  *admin.Service
	sealer *seal.Sealer
	log    *slog.Logger
	ttl    time.Duration
	rpm    int64
	pages  map[string]*template.Template
	mux    *http.ServeMux

	mu      sync.Mutex
	signins map[string]*tenancy.Meter // by client address
}

// New builds a console.
func New(opt Options) (*Console, error) {
	if opt.Admin == nil || opt.Sealer == nil {
		return nil, errors.New("console: an admin service and a sealer are needed")
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = DefaultSessionTTL
	}
	if opt.SignInRPM <= 0 {
		opt.SignInRPM = DefaultSignInRPM
	}
	c := &Console{admin: opt.Admin, sealer: opt.Sealer, log: opt.Log, ttl: opt.SessionTTL, rpm: opt.SignInRPM,
		pages: map[string]*template.Template{}, signins: map[string]*tenancy.Meter{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /signin", c.signInPage)
	mux.HandleFunc("POST /signin", c.signIn)
	mux.HandleFunc("POST /signout", c.signedIn(c.signOut))
	mux.HandleFunc("GET /{$}", c.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/usage", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /workspaces", c.signedIn(c.workspaces))
	mux.HandleFunc("POST /workspaces", c.signedIn(c.createWorkspace))
	mux.HandleFunc("POST /workspaces/credit", c.signedIn(c.addCredit))
	mux.HandleFunc("GET /keys", c.signedIn(c.keys))
	mux.HandleFunc("POST /keys", c.signedIn(c.createKey))
	mux.HandleFunc("POST /keys/update", c.signedIn(c.updateKey))
	mux.HandleFunc("POST /keys/revoke", c.signedIn(c.revokeKey))
	mux.HandleFunc("GET /usage", c.signedIn(c.usage))
	mux.HandleFunc("GET /requests", c.signedIn(c.requests))
	mux.HandleFunc("GET /models", c.signedIn(c.models))
	c.mux = mux
	return c, nil
}

// ServeHTTP implements http.Handler: every answer forbids framing,
// caching and any script or style but the console's own.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// session is a signed-in user's: the admin token, its scope, and the
// CSRF secret its forms carry.
type session struct {
	token store.AdminToken
	scope admin.Scope
	csrf  string
}

// sealedSession is what the cookie holds, sealed.
type sealedSession struct {
	Purpose string `json:"p"`
	TokenID int64  `json:"t"`
	Expires int64  `json:"e"`
	CSRF    string `json:"c"`
}

// signedIn wraps a page: without a live session it goes to sign-in (a
// GET) or is refused (a POST); a POST without the session's CSRF secret
// is refused.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameSecret(r.PostFormValue("csrf"), s.csrf) {
				http.Error(w, "this form is stale or forged (its CSRF token does not match your session); reload the page", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}

// session reads the request's session, nil when there is none, it
// expired, or its token was revoked.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	plain, err := c.sealer.Open(ck.Value)
	if err != nil {
		return nil
	}
	var ss sealedSession
	if json.Unmarshal(plain, &ss) != nil || ss.Purpose != sessionPurpose || time.Now().Unix() >= ss.Expires || ss.CSRF == "" {
		return nil
	}
	tok, scope, err := c.admin.Session(r.Context(), ss.TokenID)
	if err != nil {
		return nil
	}
	return &session{token: tok, scope: scope, csrf: ss.CSRF}
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// secure reports whether the console is reached over TLS (directly, or
// through a proxy that says so): its cookies are then Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

// signInPage shows the sign-in form, with a fresh CSRF secret in a
// cookie of its own and in the form.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.showSignIn(w, r, http.StatusOK, "")
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, problem string) {
	csrf := randomHex()
	c.setCookie(w, r, signinCookie, csrf, 600)
	c.render(w, status, "signin", nil, map[string]any{"CSRF": csrf, "Error": problem})
}

// signIn checks an admin token and starts a session. Attempts are
// limited per client address; the token is never logged nor shown.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameSecret(r.PostFormValue("csrf"), ck.Value) {
		c.showSignIn(w, r, http.StatusForbidden, "This form was stale or forged; try again.")
		return
	}
	if !c.allowSignIn(r) {
		w.Header().Set("Retry-After", "60")
		c.showSignIn(w, r, http.StatusTooManyRequests, "Too many sign-in attempts from your address; wait a minute.")
		return
	}
	tok, _, err := c.admin.SignIn(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Error("console: sign-in failed", "err", err)
		}
		c.showSignIn(w, r, http.StatusUnauthorized, "That admin token is not valid.")
		return
	}
	plain, _ := json.Marshal(sealedSession{Purpose: sessionPurpose, TokenID: tok.ID, Expires: time.Now().Add(c.ttl).Unix(), CSRF: randomHex()})
	c.setCookie(w, r, sessionCookie, c.sealer.Seal(plain), int(c.ttl/time.Second))
	c.setCookie(w, r, signinCookie, "", -1)
	c.log.Info("console: signed in", "admin_token", tok.Prefix, "name", tok.Name)
	http.Redirect(w, r, "/usage", http.StatusSeeOther)
}

// allowSignIn counts a sign-in attempt against its client address.
func (c *Console) allowSignIn(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := time.Now()
	c.mu.Lock()
	m := c.signins[host]
	if m == nil {
		if len(c.signins) > 10000 { // addresses of past minutes are forgotten
			c.signins = map[string]*tenancy.Meter{}
		}
		m = &tenancy.Meter{}
		c.signins[host] = m
	}
	c.mu.Unlock()
	tk, _, err := m.Acquire(store.Rates{RPM: c.rpm}, 1, now)
	tk.Release(0, now)
	return err == nil
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ *session) {
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
