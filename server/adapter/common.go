package adapter

import (
	"errors"
	"strconv"
	"strings"
)

func partParam(i, j int) string {
	return "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
}

// hasText reports whether s holds something besides white space, which
// Anthropic requires of every text block and stop sequence.
func hasText(s string) bool { return strings.TrimSpace(s) != "" }

func anyText(list []string) bool {
	for _, s := range list {
		if hasText(s) {
			return true
		}
	}
	return false
}

// fallbackMessage describes an upstream error whose body is not the
// upstream's error shape, such as a proxy's HTML page, without echoing it.
func fallbackMessage(status int, body []byte) string {
	return "upstream answered HTTP " + strconv.Itoa(status) + " with a " + strconv.Itoa(len(body)) + "-byte body that is not an error object"
}

// joined concatenates text pieces, copying only when there is more than one:
// an answer is usually a single text block, whose string is used as it is.
type joined struct {
	first string
	more  []byte
	n     int
}

func (j *joined) add(s string) {
	switch j.n++; {
	case j.n == 1:
		j.first = s
	case j.n == 2:
		j.more = append(append(make([]byte, 0, len(j.first)+len(s)), j.first...), s...)
	default:
		j.more = append(j.more, s...)
	}
}

func (j *joined) String() string {
	if j.n > 1 {
		return string(j.more)
	}
	return j.first
}

func (j *joined) Len() int {
	if j.n > 1 {
		return len(j.more)
	}
	return len(j.first)
}

// Answers that parse as JSON but are not of the upstream's shape.
var (
	errNotAMessage = errors.New("anthropic: the answer has no content or no stop_reason")
	errNotAnAnswer = errors.New("gemini: the answer has neither candidates nor promptFeedback.blockReason")
)
