package adapter

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
)

// AnthropicVersion is the anthropic-version header every request carries.
const AnthropicVersion = "2023-06-01"

// Anthropic speaks the Anthropic Messages API (POST /v1/messages).
type Anthropic struct{}

var anthropicImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// BuildRequest implements Adapter.
func (Anthropic) BuildRequest(req *fasthttp.Request, buf []byte, c *Call, up *Upstream) ([]byte, *openai.Error) {
	body, err := appendAnthropicBody(buf, c)
	if err != nil {
		return buf, err
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(up.BaseURL + "/v1/messages")
	req.Header.SetContentType("application/json")
	req.Header.Set("x-api-key", up.APIKey)
	req.Header.Set("anthropic-version", AnthropicVersion)
	req.SetBodyRaw(body)
	return body, nil
}

func appendAnthropicBody(dst []byte, c *Call) ([]byte, *openai.Error) {
	dst = append(dst, `{"model":`...)
	dst = jsonw.String(dst, c.Model.UpstreamID)
	if c.MaxTokens > 0 {
		dst = append(dst, ',')
		dst = jsonw.Key(dst, c.Model.Rename[generated.ParamMaxTokens])
		dst = jsonw.Int(dst, c.MaxTokens)
	}
	var err *openai.Error
	if dst, err = appendAnthropicSystem(dst, c.Req.Messages); err != nil {
		return dst, err
	}
	if dst, err = appendAnthropicMessages(dst, c.Req.Messages); err != nil {
		return dst, err
	}
	dst = appendForwarded(dst, c)
	if c.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if t := &c.Thinking; t.On {
		switch c.Model.Thinking.Style {
		case matrix.ThinkingAnthropicBudget:
			dst = append(dst, `,"thinking":{"type":"enabled","budget_tokens":`...)
			dst = jsonw.Int(dst, t.Budget)
			dst = append(dst, '}')
		case matrix.ThinkingAnthropicAdaptive:
			dst = append(dst, `,"thinking":{"type":"adaptive"},"output_config":{"effort":`...)
			dst = jsonw.String(dst, t.Level)
			dst = append(dst, '}')
		}
	}
	return append(dst, '}'), nil
}

// appendAnthropicSystem gathers system and developer messages, in order, into
// the top-level system blocks, keeping their cache_control breakpoints.
// Blocks without text are left out: Anthropic rejects them.
func appendAnthropicSystem(dst []byte, msgs []openai.Message) ([]byte, *openai.Error) {
	opened := false
	block := func(text string, cc *openai.CacheControl) {
		if !hasText(text) {
			return
		}
		if !opened {
			dst = append(dst, `,"system":[`...)
			opened = true
		}
		dst = jsonw.Comma(dst)
		dst = appendAnthropicText(dst, text, cc)
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "system" && m.Role != "developer" {
			continue
		}
		if !m.Content.IsParts {
			block(m.Content.Text, nil)
			continue
		}
		for j := range m.Content.Parts {
			p := &m.Content.Parts[j]
			if p.Type != "text" {
				return dst, openai.BadRequest(partParam(i, j)+".type", "system messages take only text parts")
			}
			block(p.Text, p.CacheControl)
		}
	}
	if opened {
		dst = append(dst, ']')
	}
	return dst, nil
}

// appendAnthropicMessages writes the user and assistant turns. Anthropic
// rejects text blocks that are empty or only white space, which OpenAI
// accepts: such blocks are left out, an assistant turn left with nothing is
// skipped, and a user turn left with nothing is refused with a clear 400.
func appendAnthropicMessages(dst []byte, msgs []openai.Message) ([]byte, *openai.Error) {
	dst = append(dst, `,"messages":[`...)
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "user" && m.Role != "assistant" {
			continue
		}
		if !anthropicHasContent(&m.Content) {
			if m.Role == "assistant" {
				continue
			}
			return dst, openai.BadRequest("messages["+strconv.Itoa(i)+"].content",
				"Claude models reject a user message without text or an image; this one is empty or only white space")
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"role":`...)
		dst = jsonw.String(dst, m.Role)
		dst = append(dst, `,"content":`...)
		if !m.Content.IsParts {
			dst = jsonw.String(dst, m.Content.Text)
			dst = append(dst, '}')
			continue
		}
		dst = append(dst, '[')
		for j := range m.Content.Parts {
			p := &m.Content.Parts[j]
			switch p.Type {
			case "text":
				if hasText(p.Text) {
					dst = jsonw.Comma(dst)
					dst = appendAnthropicText(dst, p.Text, p.CacheControl)
				}
			case "image_url":
				var err *openai.Error
				dst = jsonw.Comma(dst)
				if dst, err = appendAnthropicImage(dst, p, i, j); err != nil {
					return dst, err
				}
			}
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']'), nil
}

// anthropicHasContent reports whether c has a block Anthropic would accept.
func anthropicHasContent(c *openai.Content) bool {
	if !c.IsParts {
		return hasText(c.Text)
	}
	for j := range c.Parts {
		if p := &c.Parts[j]; p.Type == "image_url" || hasText(p.Text) {
			return true
		}
	}
	return false
}

func appendAnthropicText(dst []byte, text string, cc *openai.CacheControl) []byte {
	dst = append(dst, `{"type":"text","text":`...)
	dst = jsonw.String(dst, text)
	dst = appendCacheControl(dst, cc)
	return append(dst, '}')
}

func appendCacheControl(dst []byte, cc *openai.CacheControl) []byte {
	if cc == nil {
		return dst
	}
	dst = append(dst, `,"cache_control":{"type":"ephemeral"`...)
	if cc.TTL != "" {
		dst = append(dst, `,"ttl":`...)
		dst = jsonw.String(dst, cc.TTL)
	}
	return append(dst, '}')
}

func appendAnthropicImage(dst []byte, p *openai.Part, i, j int) ([]byte, *openai.Error) {
	url := p.ImageURL.URL
	if mediaType, data, ok := dataURL(url); ok {
		if !anthropicImageTypes[mediaType] {
			return dst, openai.BadRequest(partParam(i, j)+".image_url.url", "Claude models take image/jpeg, image/png, image/gif or image/webp, not "+mediaType)
		}
		dst = append(dst, `{"type":"image","source":{"type":"base64","media_type":`...)
		dst = jsonw.String(dst, mediaType)
		dst = append(dst, `,"data":`...)
		dst = jsonw.String(dst, data)
	} else if isHTTPURL(url) {
		dst = append(dst, `{"type":"image","source":{"type":"url","url":`...)
		dst = jsonw.String(dst, url)
	} else {
		return dst, openai.BadRequest(partParam(i, j)+".image_url.url", "an image URL must be a base64 data: URL or an http(s) URL")
	}
	dst = append(dst, '}')
	dst = appendCacheControl(dst, p.CacheControl)
	return append(dst, '}'), nil
}

// ParseError implements Adapter.
func (Anthropic) ParseError(status int, body []byte) UpstreamError {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return UpstreamError{Message: fallbackMessage(status, body)}
	}
	return UpstreamError{
		Message:    "anthropic: " + e.Error.Message,
		AuthFailed: e.Error.Type == "authentication_error" || e.Error.Type == "permission_error",
	}
}
