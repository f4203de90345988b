package openai

import (
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// AppendError appends the chat door's error envelope of e.
func AppendError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = jsonw.String(dst, e.Message)
	dst = append(dst, `,"type":`...)
	dst = jsonw.String(dst, e.Type)
	dst = append(dst, `,"param":`...)
	dst = nullable(dst, e.Param)
	dst = append(dst, `,"code":`...)
	dst = nullable(dst, e.Code)
	if e.EventID != "" {
		dst = append(dst, `,"event_id":`...)
		dst = jsonw.String(dst, e.EventID)
	}
	return append(dst, "}}"...)
}

func nullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return jsonw.String(dst, s)
}
