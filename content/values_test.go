package content

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValuesStrings(t *testing.T) {
	v := Values{"tables": []any{"trips", "cities"}, "none": nil, "n": int64(7), "mixed": []any{"a", int64(1)}}
	got, err := v.strings("tables")
	require.NoError(t, err)
	assert.Equal(t, []string{"trips", "cities"}, got)
	for _, key := range []string{"absent", "none"} {
		got, err = v.strings(key)
		require.NoError(t, err)
		assert.Empty(t, got)
	}
	_, err = v.strings("n")
	require.ErrorIs(t, err, ErrProtocol)
	assert.Contains(t, err.Error(), `"n" is a int64, not a list`)
	_, err = v.strings("mixed")
	require.ErrorIs(t, err, ErrProtocol)
	assert.Contains(t, err.Error(), `"mixed" holds a int64, not a string`)
}
