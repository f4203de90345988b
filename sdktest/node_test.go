package sdktest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestNodeSDK runs node/*.test.mjs, which use the official openai and
// @anthropic-ai/sdk npm packages, against a gateway started here. .ci/run installs the package; on
// a developer machine without it the test is skipped, in CI it fails.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join("node", "node_modules", "openai", "package.json")); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node or sdktest/node/node_modules is missing; .ci/run must run npm ci in sdktest/node")
		}
		t.Skip("node or the openai npm package is not installed: run npm ci in sdktest/node")
	}
	// An image for the multimodal test, fetched by the gateway for Gemini
	// from loopback, which only this test allows.
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(tinyPNG)
	}))
	defer media.Close()
	env := gatewaytest.Start(t, gatewaytest.Options{FetchAllow: func(ip netip.Addr) bool { return ip.IsLoopback() }})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "chat.test.mjs", "tools.test.mjs", "embeddings.test.mjs", "messages.test.mjs", "responses.test.mjs", "multimodal.test.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "OPENTOKEN_BASE_URL="+env.URL+"/v1", "OPENTOKEN_ORIGIN="+env.URL, "OPENTOKEN_MEDIA_URL="+media.URL, "OPENTOKEN_API_KEY="+gatewaytest.ClientKey,
		// The Agents SDK makes its own client of these.
		"OPENAI_BASE_URL="+env.URL+"/v1", "OPENAI_API_KEY="+gatewaytest.ClientKey)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
