package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestCORS: a configured origin's preflight is answered without a key, and
// its answers (errors and streams too) carry the origin and the headers a
// page may read; another origin gets no CORS header, and without
// configured origins a preflight needs a key as before.
func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	env := gatewaytest.Start(t, gatewaytest.Options{CORSOrigins: []string{app}})
	do := func(method, origin, key string, body string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, env.URL+"/v1/chat/completions", strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		gatewaytest.ReadResponse(t, resp)
		return resp
	}
	pre := do(http.MethodOptions, app, "", "", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		pre.Header.Get("Access-Control-Allow-Headers") != "authorization, content-type, x-stainless-os" {
		t.Errorf("a preflight of the configured origin: %d %v", pre.StatusCode, pre.Header)
	}
	if other := do(http.MethodOptions, "https://evil.example", "", "", "Access-Control-Request-Method", "POST"); other.StatusCode != 401 ||
		other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a preflight of another origin: %d %v", other.StatusCode, other.Header)
	}
	chat := `{"model":"google/gemini-3-flash",` + okMessages + `}`
	for name, resp := range map[string]*http.Response{
		"an answer":  do(http.MethodPost, app, gatewaytest.ClientKey, chat),
		"a stream":   do(http.MethodPost, app, gatewaytest.ClientKey, strings.Replace(chat, "{", `{"stream":true,`, 1)),
		"an error":   do(http.MethodPost, app, "", chat),
		"a bad body": do(http.MethodPost, app, gatewaytest.ClientKey, "{"),
	} {
		if resp.Header.Get("Access-Control-Allow-Origin") != app || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
			resp.Header.Get("Vary") != "Origin" {
			t.Errorf("%s to the configured origin: %d %v", name, resp.StatusCode, resp.Header)
		}
	}
	if resp := do(http.MethodPost, "https://evil.example", gatewaytest.ClientKey, chat); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an answer to another origin: %v", resp.Header)
	}

	off := gatewaytest.Start(t, gatewaytest.Options{})
	req, _ := http.NewRequest(http.MethodOptions, off.URL+"/v1/chat/completions", nil)
	req.Header.Set("Origin", app)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	gatewaytest.ReadResponse(t, resp)
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("without configured origins: %d %v", resp.StatusCode, resp.Header)
	}
}
