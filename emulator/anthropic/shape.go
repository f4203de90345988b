package anthropic

import (
	"github.com/opentoken/opentoken/emulator"
)

// Shorthands for the shape tables below.
var (
	obj  = emulator.Obj
	arr  = emulator.Arr
	leaf = emulator.Leaf
	anyV = emulator.Any
)

type fields = map[string]*emulator.Shape

var (
	cacheControl = obj(fields{"type": leaf, "ttl": leaf})
	textBlock    = obj(fields{"type": leaf, "text": leaf, "cache_control": cacheControl, "citations": anyV})
	contentBlock = obj(fields{
		"type": leaf, "text": leaf, "cache_control": cacheControl, "citations": anyV,
		"source": obj(fields{"type": leaf, "media_type": leaf, "data": leaf, "url": leaf, "file_id": leaf}),
		"id":     leaf, "name": leaf, "input": anyV, "tool_use_id": leaf, "content": anyV, "is_error": leaf,
		"thinking": leaf, "signature": leaf, "data": leaf, "title": leaf, "context": leaf,
	})
	// requestShape is every field POST /v1/messages takes.
	requestShape = obj(fields{
		"model": leaf, "max_tokens": leaf, "temperature": leaf, "top_p": leaf, "top_k": leaf,
		"stream": leaf, "service_tier": leaf, "container": leaf, "inference_geo": leaf,
		"metadata":       obj(fields{"user_id": leaf}),
		"stop_sequences": arr(leaf),
		"system":         arr(textBlock),
		"messages":       arr(obj(fields{"role": leaf, "content": arr(contentBlock)})),
		"tools":          anyV, "tool_choice": anyV, "mcp_servers": anyV, "context_management": anyV,
		"thinking":      obj(fields{"type": leaf, "budget_tokens": leaf, "display": leaf}),
		"output_config": obj(fields{"effort": leaf, "format": anyV}),
		"cache_control": cacheControl,
	})
)
