package content

import (
	"fmt"
	"math"

	"github.com/cursorwindow/cursorwindow/window"
)

// NormalizeValue maps a value as a peer's msgpack decodes it onto one of
// the five kinds a window stores: nil, int64 (from any Go integer type,
// and bool as 0 or 1), float64 (also from float32), string or []byte.
// Anything else, and an unsigned integer above math.MaxInt64, is an error
// wrapping ErrBadRequest: a provider passes a consumer's arguments and
// values through it before using them.
func NormalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, string, []byte:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return uintValue(uint64(x))
	case uint64:
		return uintValue(x)
	case float32:
		return float64(x), nil
	}
	return nil, fmt.Errorf("%w: cannot store a %T", ErrBadRequest, v)
}

func uintValue(x uint64) (any, error) {
	if x > math.MaxInt64 {
		return nil, fmt.Errorf("%w: integer %d out of range", ErrBadRequest, x)
	}
	return int64(x), nil
}

// PutValue writes a Go value into column col of w's last row: nil, any
// integer, float32/64, bool (as 0 or 1), string or []byte (nil []byte is
// NULL, as in database/sql).
func PutValue(w *window.Writer, col int, v any) error {
	switch x := v.(type) { // the common kinds first, without normalising
	case int64:
		return w.PutInt64(col, x)
	case float64:
		return w.PutFloat64(col, x)
	case string:
		return w.PutString(col, x)
	case []byte:
		if x == nil { // as database/sql: a nil []byte is NULL
			return w.PutNull(col)
		}
		return w.PutBlob(col, x)
	case nil:
		return w.PutNull(col)
	}
	x, err := NormalizeValue(v)
	if err != nil {
		return err
	}
	return PutValue(w, col, x)
}

// Strings returns v[key] as a list of strings, as a Call's answer carries
// names (the example provider's "tables" and "columns"): absent or nil is
// an empty list; anything but a list of strings is an error wrapping
// ErrProtocol, naming what was found instead.
func (v Values) Strings(key string) ([]string, error) { return listOf[string](v, key, "string") }

// Bools returns v[key] as a list of booleans (the example provider's
// "notnull"), as Strings does strings.
func (v Values) Bools(key string) ([]bool, error) { return listOf[bool](v, key, "bool") }

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
