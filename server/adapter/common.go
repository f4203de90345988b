package adapter

import (
	"strconv"

	"github.com/opentoken/opentoken/generated"
)

// maxTokensName indexes a model's Rename table for the upstream's name of
// max_tokens.
const maxTokensName = generated.ParamMaxTokens

func partParam(i, j int) string {
	return "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
}

// fallbackMessage describes an upstream error whose body is not the
// upstream's error shape, such as a proxy's HTML page, without echoing it.
func fallbackMessage(status int, body []byte) string {
	return "upstream answered HTTP " + strconv.Itoa(status) + " with a " + strconv.Itoa(len(body)) + "-byte body that is not an error object"
}
