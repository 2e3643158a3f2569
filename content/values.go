package content

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/content/internal/wire"
)

// Values are the column values of a write, or the result of a Call. Values
// travel as msgpack: int64, float64, string, []byte, bool and nil survive
// the trip; integers may arrive as any Go integer type.
type Values map[string]any

// NormalizeValue maps a value as a peer's msgpack decodes it onto one of
// the five kinds a window stores: nil, int64 (from any Go integer type,
// and bool as 0 or 1), float64 (also from float32), string or []byte.
// Anything else, and an unsigned integer above math.MaxInt64, is an error
// wrapping ErrBadRequest: a provider passes a consumer's arguments and
// values through it before using them.
func NormalizeValue(v any) (any, error) { return wire.NormalizeValue(v) }

// strings returns v[key] as a list of strings, as a Call's answer carries
// names (the example provider's "tables" and "columns"): absent or nil is
// an empty list; anything but a list of strings is an error wrapping
// ErrProtocol, naming what was found instead.
func (v Values) strings(key string) ([]string, error) { return listOf[string](v, key, "string") }

// bools returns v[key] as a list of booleans (the example provider's
// "notnull"), as strings does strings.
func (v Values) bools(key string) ([]bool, error) { return listOf[bool](v, key, "bool") }

// listOf returns v[key] as a list of T.
func listOf[T any](v Values, key, kind string) ([]T, error) {
	x, ok := v[key]
	if !ok || x == nil {
		return nil, nil
	}
	list, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a list", ErrProtocol, key, x)
	}
	out := make([]T, len(list))
	for i, e := range list {
		s, ok := e.(T)
		if !ok {
			return nil, fmt.Errorf("%w: %q holds a %T, not a %s", ErrProtocol, key, e, kind)
		}
		out[i] = s
	}
	return out, nil
}
