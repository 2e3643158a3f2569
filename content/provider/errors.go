package provider

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrSnapshotExpired is returned by a provider's Rows (from Reposition,
// Put, or Err after Next) that let their snapshot go, by a bound of the
// provider's own. It never reaches a consumer: the server opens the query
// again if its data is unchanged, and answers content.ErrChanged
// otherwise. The sentinels a consumer sees are content's
// (content.ErrNotFound, ...), shared by both sides.
var ErrSnapshotExpired = errors.New("provider: snapshot expired")

// maxErrorText bounds the text of an error sent to a consumer, and
// maxQuoted the part of a peer's string (a URI, a selection) an error
// quotes: a reply never outgrows the body limit however long the
// request's strings were, so every request gets its answer.
const (
	maxErrorText = 2048
	maxQuoted    = 96
)

// quoted quotes at most a short prefix of s, as %q does, noting how long
// s was when it is cut.
func quoted(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(cut(s, maxQuoted)), len(s))
}

// bounded returns s, cut to at most n bytes (at a character boundary,
// marked with an ellipsis) when longer.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cut(s, n-len("…")) + "…"
}

// cut returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
