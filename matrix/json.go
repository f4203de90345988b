package matrix

import (
	"errors"

	"github.com/opentoken/opentoken/internal/json"
)

var errNotStrings = errors.New("must be a string or an array of strings")

// UnmarshalJSON accepts "x" and ["x", "y"]; null leaves s nil.
func (s *Strings) UnmarshalJSON(b []byte) error {
	switch RawKind(b) {
	case '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Strings{one}
		return nil
	case '[':
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return errNotStrings
		}
		*s = many
		return nil
	case 'n':
		*s = nil
		return nil
	}
	return errNotStrings
}

// RawKind returns the first byte of a raw JSON value after white space: '{',
// '[', '"', 'n' (null), 't'/'f' (a boolean) or a digit or '-'; 0 when empty.
func RawKind(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// RawPresent reports whether a raw JSON value was given and is not null;
// OpenAI's schema makes most fields nullable, and null means absent.
func RawPresent(b []byte) bool {
	k := RawKind(b)
	return k != 0 && k != 'n'
}
