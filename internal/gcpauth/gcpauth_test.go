package gcpauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/emulator/vertex"
)

func start(t *testing.T) (*vertex.Emulator, *emulator.Server) {
	t.Helper()
	v, err := vertex.New("test-project")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emulator.Start("127.0.0.1:0", v.Handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return v, srv
}

// TestExchangeOnceForManyWaiters: 100 requests finding the token expired
// cause one exchange; the token works on Vertex; the project comes from
// the key.
func TestExchangeOnceForManyWaiters(t *testing.T) {
	v, srv := start(t)
	s, err := FromJSON(v.Credentials(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if s.Project() != "test-project" || !strings.HasSuffix(s.Email(), ".iam.gserviceaccount.com") {
		t.Errorf("project %q, email %q", s.Project(), s.Email())
	}
	tok, err := s.Token()
	if err != nil || v.Exchanges() != 1 {
		t.Fatalf("first token: %v, %d exchanges", err, v.Exchanges())
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/projects/test-project/locations/global/publishers/google/models/gemini-2.5-pro:generateContent",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Vertex with the token: %v %v", err, resp)
	}
	resp.Body.Close()

	// An hour on: the token is due, and 100 callers share one exchange
	// (whose token, living three hours, serves them all).
	v.TokenTTL = 3 * time.Hour
	s.mu.Lock()
	s.now = func() time.Time { return time.Now().Add(time.Hour) }
	s.mu.Unlock()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Token(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := v.Exchanges(); n != 2 {
		t.Errorf("100 callers on an expired token: %d exchanges in all, want 2", n)
	}
}

// TestRefusedExchange: a deleted key is refused with Google's reason, in
// an AuthError that carries no key material.
func TestRefusedExchange(t *testing.T) {
	v, srv := start(t)
	key := v.Credentials(srv.URL)
	v.RevokeKey()
	s, err := FromJSON(key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Token()
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Reason != "invalid_grant: Invalid JWT Signature." {
		t.Fatalf("a revoked key: %v", err)
	}
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal(key, &k)
	body := strings.Split(k.PrivateKey, "\n")[1]
	if strings.Contains(err.Error(), body[:20]) {
		t.Error("the error quotes the key")
	}
	if _, err := FromJSON([]byte(`{"type":"authorized_user"}`)); err == nil {
		t.Error("a key of another type was taken")
	}
}

// TestEmulatorChecksTheJWT: the token endpoint refuses a JWT for another
// audience, living over an hour, without the scope, or unsigned.
func TestEmulatorChecksTheJWT(t *testing.T) {
	v, srv := start(t)
	post := func(assertion string) (int, string) {
		resp, err := http.PostForm(srv.URL+vertex.TokenPath, map[string][]string{
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out["error"] + ": " + out["error_description"]
	}
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + "."
	if status, msg := post(unsigned); status != 400 || msg != "invalid_grant: Invalid JWT Signature." {
		t.Errorf("an unsigned JWT: %d %s", status, msg)
	}
	if status, msg := post("garbage"); status != 400 || !strings.HasPrefix(msg, "invalid_grant") {
		t.Errorf("garbage: %d %s", status, msg)
	}
	for name, claims := range map[string]map[string]any{
		"another audience": {"aud": "https://oauth2.googleapis.com/token"},
		"over an hour":     {"exp": time.Now().Add(2 * time.Hour).Unix()},
		"no scope":         {"scope": "https://www.googleapis.com/auth/userinfo.email"},
	} {
		if status, msg := post(v.Assertion(srv.URL, claims)); status != 400 || (!strings.HasPrefix(msg, "invalid_grant") && !strings.HasPrefix(msg, "invalid_scope")) {
			t.Errorf("%s: %d %s", name, status, msg)
		}
	}
	if status, msg := post(v.Assertion(srv.URL, nil)); status != 200 {
		t.Errorf("a good JWT: %d %s", status, msg)
	}
}
