// Package gcpauth gets the OAuth access tokens Vertex AI takes, from a
// Google service account's JSON key: a JWT signed with the key is
// exchanged at the key's token endpoint for a bearer token of the
// cloud-platform scope. Tokens are refreshed in the background before
// they expire, and one exchange serves every request waiting for it.
package gcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Scope is the OAuth scope Vertex AI requires.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// Refresh margins: a token is replaced refreshEarly before it expires, so
// no request waits for the exchange; a failed exchange is tried again
// after retryFailed.
const (
	refreshEarly = 5 * time.Minute
	retryFailed  = 10 * time.Second
	// exchangeTimeout bounds one token exchange.
	exchangeTimeout = 10 * time.Second
)

// Source issues access tokens for one service account.
type Source struct {
	exchange func() (*oauth2.Token, error) // one JWT-bearer exchange
	project  string
	email    string

	mu  sync.Mutex // held across an exchange: one serves every waiter
	tok *oauth2.Token
	now func() time.Time

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// AuthError is a token exchange the token endpoint refused, or that could
// not reach it. Its message holds the endpoint's reason and never a key.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string { return "the service account's token exchange failed: " + e.Reason }

// Load reads a service-account JSON key, of type service_account; Start
// then keeps its tokens fresh.
func Load(path string) (*Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the service account key: %w", err)
	}
	s, err := FromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// FromJSON makes a Source of a key's JSON. It exchanges a token when one
// is first asked for; Start refreshes them ahead.
func FromJSON(raw []byte) (*Source, error) {
	client := &http.Client{Timeout: exchangeTimeout}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	creds, err := google.CredentialsFromJSONWithType(ctx, raw, google.ServiceAccount, Scope)
	if err != nil {
		// The library's message may quote the key: say only what is wrong.
		return nil, errors.New("not a Google service account key (type \"service_account\", with client_email, private_key and token_uri)")
	}
	cfg, err := google.JWTConfigFromJSON(raw, Scope)
	if err != nil {
		return nil, errors.New("not a Google service account key (type \"service_account\", with client_email, private_key and token_uri)")
	}
	return &Source{
		// A new source each time: the library's own caches a token, and
		// this Source decides when to exchange.
		exchange: func() (*oauth2.Token, error) { return cfg.TokenSource(ctx).Token() },
		project:  creds.ProjectID, email: cfg.Email, now: time.Now, stop: make(chan struct{}),
	}, nil
}

// Project is the key's project_id.
func (s *Source) Project() string { return s.project }

// Email is the service account's address, to name it in messages.
func (s *Source) Email() string { return s.email }

// Token returns a valid access token: the last one while it is more than
// refreshEarly from its expiry, else a new one. Concurrent callers share
// one exchange.
func (s *Source) Token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.now().Add(refreshEarly).Before(s.tok.Expiry) {
		return s.tok.AccessToken, nil
	}
	tok, err := s.exchange()
	if err != nil {
		return "", authError(err)
	}
	s.tok = tok
	return tok.AccessToken, nil
}

// Start keeps a fresh token ready in the background, so that no request
// waits for an exchange: it asks for one as the last nears refreshEarly
// from its expiry, and retries a failed exchange. Close stops it.
func (s *Source) Start() {
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		for {
			wait := retryFailed
			if _, err := s.Token(); err == nil {
				s.mu.Lock()
				wait = max(s.tok.Expiry.Sub(s.now())-refreshEarly+time.Second, time.Second)
				s.mu.Unlock()
			}
			t := time.NewTimer(wait)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the background refresh.
func (s *Source) Close() {
	s.once.Do(func() { close(s.stop) })
	s.done.Wait()
}

// authError names why an exchange failed: the endpoint's error and
// description (invalid_grant: Invalid JWT Signature.), or the transport's.
func authError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, description := re.ErrorCode, re.ErrorDescription
		if code == "" {
			// The JWT flow leaves the body unparsed: Google's is
			// {"error": …, "error_description": …}.
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code, description = body.Error, body.Description
			}
		}
		reason := code
		if description != "" {
			reason += ": " + description
		}
		if reason == "" && re.Response != nil {
			reason = re.Response.Status
		}
		return &AuthError{Reason: reason}
	}
	// The transport's error names the token URL, nothing secret; the
	// library's prefix says nothing to an operator.
	return &AuthError{Reason: strings.TrimPrefix(err.Error(), "oauth2: cannot fetch token: ")}
}
