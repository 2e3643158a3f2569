package wire

import (
	"fmt"
	"math"
	"os"

	"github.com/cursorwindow/cursorwindow/window"
)

// NormalizeValue maps a value as a peer's msgpack decodes it onto one of
// the five kinds a window stores: nil, int64 (from any Go integer type,
// and bool as 0 or 1), float64 (also from float32), string or []byte.
// Anything else, and an unsigned integer above math.MaxInt64, is an error
// wrapping ErrBadRequest.
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

// IsDescendant reports whether uri lies below reg (reg, a slash, then
// more), as a registration for descendants matches it.
func IsDescendant(uri, reg string) bool {
	p := reg
	if len(p) == 0 || p[len(p)-1] != '/' {
		p += "/"
	}
	return len(uri) > len(p) && uri[:len(p)] == p
}

// CloseFiles closes every file of files: the descriptors a message
// brought that nobody will use.
func CloseFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
