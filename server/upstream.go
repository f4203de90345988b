package server

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// exchange sends one call to its upstream, parses the answer and hands it to
// answer while the upstream response is still alive (the completion's
// strings point into it), and maps every failure to the gateway's error.
func (s *Server) exchange(rt *route, call *adapter.Call, answer func(*openai.Completion)) *openai.Error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	buf := getBuf()
	defer putBuf(buf)

	body, e := rt.adapter.BuildRequest(req, (*buf)[:0], call, &rt.upstream)
	*buf = body
	if e != nil {
		return e
	}
	if err := s.client.DoTimeout(req, resp, s.timeout); err != nil {
		return s.transportError(rt, err)
	}
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		var out openai.Completion
		if err := rt.adapter.ParseResponse(resp.Body(), &out); err != nil {
			s.log.Warn("unreadable upstream response", "upstream", rt.name, "status", status, "err", err)
			return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
				Message: rt.name + " upstream sent a response the gateway could not read"}
		}
		answer(&out)
		return nil
	}
	return s.upstreamFailure(rt, status, resp.Body(), string(resp.Header.Peek("Retry-After")))
}

// upstreamFailure maps an upstream's error status: our credentials refused
// is 502, throttling keeps its 429 and Retry-After, an outage (5xx, 529) is
// 503, and any other 4xx keeps its status with the upstream's message.
func (s *Server) upstreamFailure(rt *route, status int, body []byte, retryAfter string) *openai.Error {
	ue := rt.adapter.ParseError(status, body)
	switch {
	case status == 401 || status == 403 || ue.AuthFailed:
		s.log.Error("upstream rejected the gateway's credentials", "upstream", rt.name, "status", status)
		return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamAuthFailed,
			Message: rt.name + " upstream rejected the gateway's credentials; the operator must fix its API key"}
	case status == 429:
		return &openai.Error{Status: 429, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: ue.Message, RetryAfter: retryAfter}
	case status >= 500:
		s.log.Warn("upstream failed", "upstream", rt.name, "status", status, "message", ue.Message)
		return &openai.Error{Status: 503, Type: openai.TypeUpstream, Code: openai.CodeNoSupplier,
			Message: rt.name + " upstream is unavailable (HTTP " + strconv.Itoa(status) + "): " + ue.Message}
	case status == 408:
		return &openai.Error{Status: 504, Type: openai.TypeUpstream, Code: openai.CodeUpstreamTimeout, Message: ue.Message}
	}
	return &openai.Error{Status: status, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError, Message: ue.Message}
}

// transportError maps a failed exchange: a timeout is 504, anything that
// kept the upstream from answering (refused, reset, DNS, TLS) is 503.
func (s *Server) transportError(rt *route, err error) *openai.Error {
	var netErr net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout() && !errors.Is(err, fasthttp.ErrDialTimeout)) {
		return &openai.Error{Status: 504, Type: openai.TypeUpstream, Code: openai.CodeUpstreamTimeout,
			Message: rt.name + " upstream did not answer within " + s.timeout.String()}
	}
	s.log.Warn("upstream unreachable", "upstream", rt.name, "err", err)
	return &openai.Error{Status: 503, Type: openai.TypeUpstream, Code: openai.CodeNoSupplier,
		Message: rt.name + " upstream is unreachable: " + describeTransport(err)}
}

// describeTransport names the failure without echoing addresses or URLs.
func describeTransport(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection reset"
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "connect timed out"
	case strings.Contains(err.Error(), "tls"):
		return "TLS handshake failed"
	}
	return "connection failed"
}
