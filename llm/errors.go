package llm

import "strconv"

// Error types and codes of the OpenToken error envelope.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypeUpstream       = "upstream_error"
	TypeAPI            = "api_error"

	CodeModelNotFound        = "model_not_found"
	CodeModelRetired         = "model_retired"
	CodeVertexAuthFailed     = "vertex_auth_failed"
	CodeUnsupportedParameter = "unsupported_parameter"
	CodeMissingAuth          = "missing_auth"
	CodeInvalidKey           = "invalid_key"
	CodeNotFound             = "not_found"
	CodeNoSupplier           = "no_supplier"
	CodeUpstreamTimeout      = "upstream_timeout"
	CodeUpstreamError        = "upstream_error"
	CodeUpstreamAuthFailed   = "upstream_auth_failed"
	CodeRequestTooLarge      = "request_too_large"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInvalidValue         = "invalid_value"
	CodeHeadersTooLarge      = "headers_too_large"
	CodeRequestTimeout       = "request_timeout"
	CodeShuttingDown         = "shutting_down"
	// A model on the wrong endpoint.
	CodeModelNotSupported     = "model_not_supported"
	CodeEmbeddingsUnsupported = "embeddings_unsupported"
	// An issued key refused (tenancy).
	CodeExpiredKey         = "expired_key"
	CodeInsufficientCredit = "insufficient_credit"
	CodeSpendLimitExceeded = "spend_limit_exceeded"
	// CodeRateLimitExceeded refuses a key over its rates; the error's type
	// is the rate, "requests" or "tokens", as OpenAI's is.
	CodeRateLimitExceeded = "rate_limit_exceeded"
)

// Error is a failed request, written as
// {"error":{"message","type","param","code"}} with its HTTP status.
type Error struct {
	Status  int
	Type    string
	Code    string // "" is written as null
	Param   string // "" is written as null
	Message string
	// EventID correlates a 500 with the server's log line.
	EventID string
	// RetryAfter is passed on from an upstream's Retry-After header.
	RetryAfter string
}

func (e *Error) Error() string { return e.Message }

// BadRequest is a 400 invalid_request_error about param.
func BadRequest(param, message string) *Error {
	return &Error{Status: 400, Type: TypeInvalidRequest, Param: param, Message: message}
}

// Unsupported is a 400 unsupported_parameter: the model cannot honour param,
// and dropping it would change what the answer is.
func Unsupported(param, message string) *Error {
	return &Error{Status: 400, Type: TypeInvalidRequest, Code: CodeUnsupportedParameter, Param: param, Message: message}
}

// ModelNotFound is the 400 for an unregistered model id.
func ModelNotFound(id string) *Error {
	return &Error{Status: 400, Type: TypeInvalidRequest, Code: CodeModelNotFound, Param: "model",
		Message: "model " + strconv.Quote(id) + " not found"}
}
