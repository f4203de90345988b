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

var (
	cacheControl = obj(emulator.Fields{"type": leaf, "ttl": leaf})
	textBlock    = obj(emulator.Fields{"type": leaf, "text": leaf, "cache_control": cacheControl, "citations": anyV})
	contentBlock = obj(emulator.Fields{
		"type": leaf, "text": leaf, "cache_control": cacheControl, "citations": anyV,
		"source": obj(emulator.Fields{"type": leaf, "media_type": leaf, "data": leaf, "url": leaf, "file_id": leaf}),
		"id":     leaf, "name": leaf, "input": anyV, "tool_use_id": leaf, "content": anyV, "is_error": leaf,
		"thinking": leaf, "signature": leaf, "data": leaf, "title": leaf, "context": leaf,
	})
	// requestShape is every field POST /v1/messages takes.
	requestShape = obj(emulator.Fields{
		"model": leaf, "max_tokens": leaf, "temperature": leaf, "top_p": leaf, "top_k": leaf,
		"stream": leaf, "service_tier": leaf, "container": leaf, "inference_geo": leaf,
		"metadata":       obj(emulator.Fields{"user_id": leaf}),
		"stop_sequences": arr(leaf),
		"system":         arr(textBlock),
		"messages":       arr(obj(emulator.Fields{"role": leaf, "content": arr(contentBlock)})),
		"tools":          anyV, "tool_choice": anyV, "mcp_servers": anyV, "context_management": anyV,
		"thinking":      obj(emulator.Fields{"type": leaf, "budget_tokens": leaf, "display": leaf}),
		"output_config": obj(emulator.Fields{"effort": leaf, "format": anyV}),
		"cache_control": cacheControl,
	})
)
