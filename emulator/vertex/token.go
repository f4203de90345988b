package vertex

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// TokenPath is the token endpoint's path; the key's token_uri names it.
const TokenPath = "/token"

// cloudPlatform is the scope Vertex requires.
const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// Google's refusals, as its token endpoint words them.
const (
	badSignature = "Invalid JWT Signature."
	badTime      = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	badAudience  = "Invalid JWT: Failed audience check."
	badScope     = "Invalid OAuth scope or ID token audience provided."
	badIssuer    = "Invalid JWT: No valid verifier found for issuer."
)

// token serves the JWT-bearer grant: an RS256 JWT signed by the service
// account's key, of the cloud-platform scope, for this endpoint, living
// at most an hour, is exchanged for an access token.
func (e *Emulator) token(ctx *fasthttp.RequestCtx) {
	args := ctx.PostArgs()
	if gt := string(args.Peek("grant_type")); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenFail(ctx, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	e.mu.Lock()
	revoked, now := e.revoked, e.now()
	e.mu.Unlock()
	claims, ok := e.verify(string(args.Peek("assertion")))
	switch {
	case !ok || revoked:
		tokenFail(ctx, "invalid_grant", badSignature)
		return
	case claims.Iss != e.email:
		tokenFail(ctx, "invalid_grant", badIssuer)
		return
	case claims.Aud != "http://"+string(ctx.Host())+TokenPath && claims.Aud != "https://"+string(ctx.Host())+TokenPath:
		tokenFail(ctx, "invalid_grant", badAudience)
		return
	case claims.Exp-claims.Iat > 3600 || claims.Exp <= now.Unix() || claims.Iat > now.Unix()+60:
		tokenFail(ctx, "invalid_grant", badTime)
		return
	case !hasScope(claims.Scope, cloudPlatform):
		tokenFail(ctx, "invalid_scope", badScope)
		return
	}
	access := "ya29.emulated-" + strconv.FormatInt(e.ids.Add(1), 10)
	e.mu.Lock()
	e.tokens[access] = now.Add(e.TokenTTL)
	e.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"access_token": access, "expires_in": int(e.TokenTTL.Seconds()), "token_type": "Bearer"})
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

type claims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// verify checks a compact JWT's RS256 signature against the account's key
// and returns its claims.
func (e *Emulator) verify(jwt string) (claims, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(raw, &header) != nil || header.Alg != "RS256" {
		return claims{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&e.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return claims{}, false
	}
	var c claims
	if raw, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(raw, &c) != nil {
		return claims{}, false
	}
	return c, true
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

// tokenFail answers 400 with an OAuth error, as Google's endpoint does.
func tokenFail(ctx *fasthttp.RequestCtx, code, description string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	ctx.SetStatusCode(400)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// Assertion is a JWT-bearer assertion signed with the account's key, as a
// client of the key at origin makes one, with claims replaced or added by
// override: for testing what the token endpoint refuses.
func (e *Emulator) Assertion(origin string, override map[string]any) string {
	now := time.Now().Unix()
	c := map[string]any{"iss": e.email, "scope": cloudPlatform, "aud": origin + TokenPath, "iat": now, "exp": now + 3600}
	for k, v := range override {
		c[k] = v
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": e.keyID})
	payload, _ := json.Marshal(c)
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(nil, e.key, crypto.SHA256, sum[:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}
