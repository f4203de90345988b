package anthropic

import (
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// ErrorType is Anthropic's error type for a failure, by its status, which
// is what the Anthropic SDKs map to their error classes.
func ErrorType(e *llm.Error) string {
	switch s := e.Status; {
	case s == 401:
		return "authentication_error"
	case s == 402:
		return "billing_error"
	case s == 403:
		return "permission_error"
	case s == 404 || s == 410:
		return "not_found_error"
	case s == 413:
		return "request_too_large"
	case s == 429:
		return "rate_limit_error"
	case s == 503 || s == 529:
		return "overloaded_error"
	case s == 504:
		return "timeout_error"
	case s >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

// AppendError appends Anthropic's error envelope of e:
// {"type":"error","error":{"type","message"}}; OpenToken's code, when it
// has one, rides along as error.code for clients that look for it.
func AppendError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = jsonw.String(dst, ErrorType(e))
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, e.Message)
	if e.Code != "" {
		dst = append(dst, `,"code":`...)
		dst = jsonw.String(dst, e.Code)
	}
	if e.EventID != "" {
		dst = append(dst, `,"event_id":`...)
		dst = jsonw.String(dst, e.EventID)
	}
	return append(dst, "}}"...)
}
