package selection_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/selection"
)

// FuzzParse: Parse and ParseOrder never panic; every error wraps
// content.ErrBadRequest or content.ErrUnsupported; whatever parses renders
// to SQL that parses back to the same thing, and evaluates without
// panicking. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("id = ? AND (city LIKE ? OR fare NOT BETWEEN ? AND ?)")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := selection.Parse(text)
		if err != nil {
			require.True(t, errors.Is(err, content.ErrBadRequest) || errors.Is(err, content.ErrUnsupported), "%q: %v", text, err)
		} else {
			again, err := selection.Parse(s.String())
			require.NoError(t, err, "%q renders as %q", text, s.String())
			assert.Equal(t, s, again, "%q renders as %q", text, s.String())
			// Any column, any arguments: evaluation does not panic.
			args := make([]any, s.NumArgs())
			for i := range args {
				args[i] = []any{nil, int64(i), 1.5, "a%", []byte("b")}[i%5]
			}
			match, err := s.Compile(func(string) (int, error) { return 0, nil }, args)
			require.NoError(t, err)
			for _, v := range []any{nil, int64(1), 2.5, "A", []byte("b")} {
				match([]any{v})
			}
		}
		o, err := selection.ParseOrder(text)
		if err != nil {
			require.True(t, errors.Is(err, content.ErrBadRequest) || errors.Is(err, content.ErrUnsupported), "%q: %v", text, err)
			return
		}
		again, err := selection.ParseOrder(o.String())
		require.NoError(t, err, "%q renders as %q", text, o.String())
		assert.Equal(t, o, again)
	})
}
