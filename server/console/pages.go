package console

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/store"
)

// page is what every page's template gets: the user, the CSRF secret for
// its forms, a notice and a problem to show, and the page's own data.
type page struct {
	Title  string
	Nav    string
	User   *store.AdminToken
	Scope  admin.Scope
	CSRF   string
	Notice string
	// NoticeCode names the notice, for a test (or a script) to tell one
	// from another.
	NoticeCode string
	Error      string
	Data       any
	Version    string
}

// notices are the messages a redirect after a change may show, by code:
// a page shows only these, never text from the URL.
var notices = map[string]string{
	"workspace": "Workspace created.",
	"credit":    "Credit added.",
	"updated":   "Key updated.",
	"revoked":   "Key revoked: it is refused from now on.",
}

// render writes a page, or a plain 500 if its template fails (the
// buffer keeps a half page from reaching the browser).
func (c *Console) render(w http.ResponseWriter, status int, name string, s *session, data any) {
	p := page{Title: titles[name], Nav: name, Data: data}
	if s != nil {
		p.User, p.Scope, p.CSRF = &s.token, s.scope, s.csrf
	}
	if m, ok := data.(map[string]any); ok {
		p.Error, _ = m["Error"].(string)
		p.NoticeCode, _ = m["Notice"].(string)
		p.Notice = notices[p.NoticeCode]
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log.Error("console: a page failed to render", "page", name, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

var titles = map[string]string{
	"signin": "Sign in", "workspaces": "Workspaces", "keys": "Keys", "key-created": "Key created",
	"usage": "Usage", "requests": "Recent requests", "models": "Models",
}

// problem turns an admin error into what the user reads and its status.
func (c *Console) problem(err error) (int, string) {
	var ie *admin.InputError
	switch {
	case errors.As(err, &ie):
		return http.StatusBadRequest, ie.Msg
	case errors.Is(err, admin.ErrForbidden):
		return http.StatusForbidden, "That is outside the workspace your admin token is for."
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrAmbiguous):
		return http.StatusBadRequest, err.Error()
	}
	c.log.Error("console: an admin operation failed", "err", err)
	return http.StatusInternalServerError, "The database could not do that just now; try again."
}

// done redirects after a change (Post/Redirect/Get), naming the notice.
func done(w http.ResponseWriter, r *http.Request, path, notice string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

// noticeOf is the notice code a redirect named, "" for none.
func noticeOf(r *http.Request) string {
	if code := r.URL.Query().Get("done"); notices[code] != "" {
		return code
	}
	return ""
}

func (c *Console) workspaces(w http.ResponseWriter, r *http.Request, s *session) {
	c.showWorkspaces(w, r, s, http.StatusOK, "")
}

func (c *Console) showWorkspaces(w http.ResponseWriter, r *http.Request, s *session, status int, problem string) {
	list, err := c.admin.Workspaces(r.Context(), s.scope)
	if err != nil {
		status, problem = c.problem(err)
	}
	c.render(w, status, "workspaces", s, map[string]any{"Workspaces": list, "Error": problem, "Notice": noticeOf(r)})
}

func (c *Console) createWorkspace(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := c.admin.CreateWorkspace(r.Context(), s.scope, r.PostFormValue("name")); err != nil {
		status, msg := c.problem(err)
		c.showWorkspaces(w, r, s, status, msg)
		return
	}
	done(w, r, "/workspaces", "workspace")
}

func (c *Console) addCredit(w http.ResponseWriter, r *http.Request, s *session) {
	usd, err := strconv.ParseFloat(r.PostFormValue("usd"), 64)
	if err != nil {
		c.showWorkspaces(w, r, s, http.StatusBadRequest, "Credit is an amount of USD, such as 25 or 12.50.")
		return
	}
	if _, err := c.admin.AddCredit(r.Context(), s.scope, r.PostFormValue("workspace"), usd); err != nil {
		status, msg := c.problem(err)
		c.showWorkspaces(w, r, s, status, msg)
		return
	}
	done(w, r, "/workspaces", "credit")
}

// keyRow is a key as the keys page lists it.
type keyRow struct {
	store.Key
	State string
}

func (c *Console) keys(w http.ResponseWriter, r *http.Request, s *session) {
	c.showKeys(w, r, s, http.StatusOK, "")
}

func (c *Console) showKeys(w http.ResponseWriter, r *http.Request, s *session, status int, problem string) {
	keys, err := c.admin.Keys(r.Context(), s.scope, "")
	if err != nil {
		status, problem = c.problem(err)
	}
	rows := make([]keyRow, 0, len(keys))
	now := time.Now()
	for _, k := range keys {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
			state = "expired"
		}
		rows = append(rows, keyRow{k, state})
	}
	var workspaces []store.WorkspaceSummary
	if err == nil {
		workspaces, err = c.admin.Workspaces(r.Context(), s.scope)
		if err != nil {
			status, problem = c.problem(err)
		}
	}
	c.render(w, status, "keys", s, map[string]any{"Keys": rows, "Workspaces": workspaces, "Error": problem, "Notice": noticeOf(r)})
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostFormValue
	k, secret, err := c.admin.CreateKey(r.Context(), s.scope, admin.KeyRequest{Workspace: f("workspace"), Name: f("name"), Expires: f("expires"),
		LimitUSD: f("limit_usd"), LimitReset: f("limit_reset"), RPM: f("rpm"), TPM: f("tpm"), MaxConcurrent: f("max_concurrent")})
	if err != nil {
		status, msg := c.problem(err)
		c.showKeys(w, r, s, status, msg)
		return
	}
	// The secret is shown on this answer alone: it is stored only as a
	// hash, the page is not cached, and no redirect carries it.
	c.render(w, http.StatusOK, "key-created", s, map[string]any{"Key": k, "Secret": secret})
}

func (c *Console) updateKey(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostFormValue
	ch := admin.KeyChange{Expires: f("expires"), LimitUSD: f("limit_usd"), LimitReset: f("limit_reset"), RPM: f("rpm"), TPM: f("tpm"), MaxConcurrent: f("max_concurrent")}
	if _, err := c.admin.UpdateKey(r.Context(), s.scope, f("key"), ch); err != nil {
		status, msg := c.problem(err)
		c.showKeys(w, r, s, status, msg)
		return
	}
	done(w, r, "/keys", "updated")
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := c.admin.RevokeKey(r.Context(), s.scope, r.PostFormValue("key")); err != nil {
		status, msg := c.problem(err)
		c.showKeys(w, r, s, status, msg)
		return
	}
	done(w, r, "/keys", "revoked")
}

// usage shows spend and tokens per day, by model or by key, for a range
// of days (the last 14 by default), as charts and the table under them.
func (c *Console) usage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	today := time.Now().UTC()
	from, to := today.AddDate(0, 0, -13), today
	status, problem := http.StatusOK, ""
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			status, problem = http.StatusBadRequest, "The range's first day is a date such as 2026-12-01."
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			status, problem = http.StatusBadRequest, "The range's last day is a date such as 2026-12-06."
		}
		to = t
	}
	keyID, _ := strconv.ParseInt(q.Get("key"), 10, 64)
	uq := admin.UsageQuery{From: from, To: to, KeyID: keyID, ByKey: q.Get("group") == "key"}
	var report admin.UsageReport
	if problem == "" {
		var err error
		if report, err = c.admin.Usage(r.Context(), s.scope, uq); err != nil {
			status, problem = c.problem(err)
		}
	}
	c.render(w, status, "usage", s, map[string]any{"Query": uq, "Report": report, "Error": problem,
		"Spend": spendChart(report), "Tokens": tokenChart(report)})
}

// requests lists the usage records newest first, a page at a time by
// keyset (the rows before the last one read), filtered by key, model and
// status. A page reads a bounded stretch of the ledger (store.Requests):
// a rare filter's page may be short and still lead to older ones.
func (c *Console) requests(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := store.RequestFilter{Model: q.Get("model"), Limit: 50}
	f.KeyID, _ = strconv.ParseInt(q.Get("key"), 10, 64)
	f.Status, _ = strconv.Atoi(q.Get("status"))
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	list, next, err := c.admin.Requests(r.Context(), s.scope, f)
	status, problem := http.StatusOK, ""
	if err != nil {
		status, problem = c.problem(err)
	}
	var older string
	if next > 0 {
		v := url.Values{}
		for _, k := range []string{"key", "model", "status"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("before", strconv.FormatInt(next, 10))
		older = "/requests?" + v.Encode()
	}
	keys, err := c.admin.Keys(r.Context(), s.scope, "") // for the key filter's choices
	if err != nil && problem == "" {
		status, problem = c.problem(err)
	}
	c.render(w, status, "requests", s, map[string]any{"Requests": list, "Filter": f, "Older": older, "Error": problem,
		"Partial": len(list) < f.Limit && next > 0, "Scan": store.RequestScan, "Keys": keys})
}

func (c *Console) models(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, http.StatusOK, "models", s, map[string]any{"Models": admin.Models()})
}
