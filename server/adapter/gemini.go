package adapter

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
)

// Gemini speaks the Google Gemini API (POST /v1beta/models/{id}:generateContent).
type Gemini struct{}

// BuildRequest implements Adapter.
func (Gemini) BuildRequest(req *fasthttp.Request, buf []byte, c *Call, up *Upstream) ([]byte, *openai.Error) {
	body, err := appendGeminiBody(buf, c)
	if err != nil {
		return buf, err
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	method := ":generateContent"
	if c.Stream {
		method = ":streamGenerateContent?alt=sse"
	}
	req.SetRequestURI(up.BaseURL + "/v1beta/models/" + c.Model.UpstreamID + method)
	req.Header.SetContentType("application/json")
	req.Header.Set("x-goog-api-key", up.APIKey)
	req.SetBodyRaw(body)
	return body, nil
}

func appendGeminiBody(dst []byte, c *Call) ([]byte, *openai.Error) {
	msgs := c.Req.Messages
	dst = append(dst, `{"contents":[`...)
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "user" && m.Role != "assistant" {
			continue
		}
		if m.Role == "assistant" && (!m.Content.IsParts && m.Content.Text == "" || m.Content.IsParts && len(m.Content.Parts) == 0) {
			continue // an empty model turn: Gemini wants no content without parts
		}
		dst = jsonw.Comma(dst)
		if m.Role == "assistant" {
			dst = append(dst, `{"role":"model","parts":[`...)
		} else {
			dst = append(dst, `{"role":"user","parts":[`...)
		}
		var err *openai.Error
		if dst, err = appendGeminiParts(dst, m, i); err != nil {
			return dst, err
		}
		dst = append(dst, "]}"...)
	}
	dst = append(dst, ']')

	// systemInstruction is one Content of text parts, gathered in order.
	opened := false
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "system" && m.Role != "developer" {
			continue
		}
		if !opened {
			dst = append(dst, `,"systemInstruction":{"parts":[`...)
			opened = true
		}
		var err *openai.Error
		if dst, err = appendGeminiParts(dst, m, i); err != nil {
			return dst, err
		}
	}
	if opened {
		dst = append(dst, "]}"...)
	}

	dst = append(dst, `,"generationConfig":{`...)
	dst = appendForwarded(dst, c)
	if c.MaxTokens > 0 {
		dst = jsonw.Comma(dst)
		dst = jsonw.Key(dst, c.Model.Rename[generated.ParamMaxTokens])
		dst = jsonw.Int(dst, c.MaxTokens)
	}
	dst = appendThinkingConfig(dst, c)
	return append(dst, "}}"...), nil
}

// appendThinkingConfig writes thinkingConfig when the client asked for
// reasoning. A budget of 0 (effort none on Gemini 2.5, which cannot stop
// thinking) omits it, leaving the model's default.
func appendThinkingConfig(dst []byte, c *Call) []byte {
	t := &c.Thinking
	if !t.Requested {
		return dst
	}
	switch c.Model.Thinking.Style {
	case matrix.ThinkingGeminiBudget:
		if t.Budget == 0 {
			return dst
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `"thinkingConfig":{"thinkingBudget":`...)
		dst = jsonw.Int(dst, t.Budget)
	case matrix.ThinkingGeminiLevel:
		if t.Level == "" {
			return dst
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `"thinkingConfig":{"thinkingLevel":`...)
		dst = jsonw.String(dst, t.Level)
	default:
		return dst
	}
	if !t.Exclude {
		dst = append(dst, `,"includeThoughts":true`...)
	}
	return append(dst, '}')
}

func appendGeminiParts(dst []byte, m *openai.Message, i int) ([]byte, *openai.Error) {
	if !m.Content.IsParts {
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"text":`...)
		dst = jsonw.String(dst, m.Content.Text)
		return append(dst, '}'), nil
	}
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		dst = jsonw.Comma(dst)
		switch p.Type {
		case "text":
			dst = append(dst, `{"text":`...)
			dst = jsonw.String(dst, p.Text)
			dst = append(dst, '}')
		case "image_url":
			if m.Role != "user" {
				return dst, openai.BadRequest(partParam(i, j)+".type", "Gemini takes images only in user messages")
			}
			mediaType, data, ok := dataURL(p.ImageURL.URL)
			if !ok {
				return dst, openai.BadRequest(partParam(i, j)+".image_url.url", "Gemini models take images as base64 data: URLs; the gateway does not fetch http(s) URLs for them")
			}
			dst = append(dst, `{"inlineData":{"mimeType":`...)
			dst = jsonw.String(dst, mediaType)
			dst = append(dst, `,"data":`...)
			dst = jsonw.String(dst, data)
			dst = append(dst, "}}"...)
		}
	}
	return dst, nil
}

// ParseError implements Adapter.
func (Gemini) ParseError(status int, body []byte) UpstreamError {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type       string `json:"@type"`
				Reason     string `json:"reason"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return UpstreamError{Message: fallbackMessage(status, body)}
	}
	ue := UpstreamError{Message: "gemini: " + e.Error.Message,
		AuthFailed: e.Error.Status == "PERMISSION_DENIED" || e.Error.Status == "UNAUTHENTICATED"}
	for _, d := range e.Error.Details {
		ue.AuthFailed = ue.AuthFailed || d.Reason == "API_KEY_INVALID"
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			// A protobuf Duration in its JSON form, "47s" or "1.5s".
			ue.RetryAfter = strings.TrimSuffix(d.RetryDelay, "s")
		}
	}
	return ue
}
