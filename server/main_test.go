package server_test

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// server, emulator and connection a test starts must be stopped. fasthttp's
// three janitors are exempt: each sleeps out one period after its server
// stopped or its pool emptied and then exits by itself, so they are bounded,
// not leaked; and two process-wide singletons (the Date header clock and the
// default dialer's address cache) live as long as the process by design.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*Client).mCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	)
}

// closeIdle drops the default client's idle connections.
func closeIdle() { http.DefaultClient.CloseIdleConnections() }
