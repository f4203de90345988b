// Package suggest finds the name a typo meant: the "did you mean" of the
// command line and of the configuration file.
package suggest

import "strings"

// Closest returns the candidate nearest to word, case aside, when it is
// near enough to be what was meant: within an edit distance of a third of
// the word's length (at least 1, at most 3), or holding the word whole as
// a part between dashes or underscores (`revoke` for `keys-revoke`).
// Otherwise it returns "".
func Closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(w, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist <= min(max(len(w)/3, 1), 3) {
		return best
	}
	return ""
}

// distance is the Levenshtein distance of a and b, counting an adjacent
// transposition as one edit (the commonest typo).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
