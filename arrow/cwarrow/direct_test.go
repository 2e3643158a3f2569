package cwarrow

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// directWindow returns the bytes of a window of n rows (id INT64, name
// STRING with a NULL every fifth row, blob BLOB, score FLOAT64), and
// the byte offset of column 1's offsets buffer (docs/FORMAT.md).
func directWindow(t *testing.T, n int) ([]byte, int) {
	t.Helper()
	w, err := window.New(4)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, w.AllocRow())
		require.NoError(t, w.PutInt64(0, int64(i)))
		if i%5 == 4 {
			require.NoError(t, w.PutNull(1))
		} else {
			require.NoError(t, w.PutString(1, string(rune('a'+i%26))+"é"))
		}
		require.NoError(t, w.PutBlob(2, []byte{byte(i), 1, 2}))
		require.NoError(t, w.PutFloat64(3, float64(i)/2))
	}
	b, err := w.AppendTo(nil)
	require.NoError(t, err)
	// Column 1's entry is at 64+48; its values (the offsets) at entry+16.
	return b, int(binary.LittleEndian.Uint64(b[64+48+16:]))
}

// directReader returns a Reader of the four columns' types, decided, with
// a checked allocator.
func directReader(t *testing.T) *Reader {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	r := &Reader{cfg: config{rows: DefaultBatchRows, bytes: DefaultBatchBytes, mem: mem}}
	r.cols = []column{{name: "id", typ: window.TypeInt64}, {name: "name", typ: window.TypeString},
		{name: "blob", typ: window.TypeBlob}, {name: "score", typ: window.TypeFloat64}}
	for i := range r.cols {
		r.setType(&r.cols[i])
	}
	r.schema = r.makeSchema()
	return r
}

// newHold returns a hold whose release counts its calls.
func newHold() (*hold, *int) {
	released := 0
	h := &hold{release: func() { released++ }}
	h.refs.Store(1)
	return h, &released
}

// Arrays over a window point into its bytes (numbers, bitmaps, string
// data), hold it until the last is released, and read what the window
// holds, from any row of it.
func TestDirectPointsIntoTheWindow(t *testing.T) {
	const n = 100
	b, _ := directWindow(t, n)
	w, err := window.OpenBytes(b)
	require.NoError(t, err)
	r := directReader(t)
	for _, row := range []int{0, 3, 8, 61} {
		k := n - row - 2
		h, released := newHold()
		arrs := r.direct(w, row, k, h)
		require.NotNil(t, arrs, "row %d", row)
		h.drop()
		assert.Equal(t, 0, *released, "arrays hold the window")

		ids := arrs[0].(*array.Int64)
		names := arrs[1].(*array.String)
		blobs := arrs[2].(*array.Binary)
		scores := arrs[3].(*array.Float64)
		nulls := 0
		for i := range k {
			v := row + i
			nulls += btoi(v%5 == 4)
			require.Equal(t, int64(v), ids.Value(i))
			require.Equal(t, v%5 == 4, names.IsNull(i), "row %d", v)
			if v%5 != 4 {
				require.Equal(t, string(rune('a'+v%26))+"é", names.Value(i))
			}
			require.Equal(t, []byte{byte(v), 1, 2}, blobs.Value(i))
			require.Equal(t, float64(v)/2, scores.Value(i))
		}
		assert.Equal(t, nulls, names.NullN(), "NULLs counted")

		// No copy: the buffers are the window's.
		inside := func(buf *memory.Buffer) bool {
			p := uintptr(unsafe.Pointer(unsafe.SliceData(buf.Bytes())))
			lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
			return p >= lo && p < lo+uintptr(len(b))
		}
		assert.True(t, inside(ids.Data().Buffers()[1]), "int64 values")
		assert.True(t, inside(scores.Data().Buffers()[1]), "float64 values")
		assert.True(t, inside(names.Data().Buffers()[0]), "validity")
		assert.True(t, inside(names.Data().Buffers()[2]), "string data")
		assert.False(t, inside(names.Data().Buffers()[1]), "offsets are copied")

		// A column kept past its batch keeps the window.
		ids.Retain()
		releaseAll(arrs)
		assert.Equal(t, 0, *released)
		ids.Release()
		assert.Equal(t, 1, *released)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Offsets that a hostile provider damaged (or rewrites) never reach an
// array: the batch is left to the copying read, which reports them, and
// the window is released.
func TestDirectRefusesDamagedOffsets(t *testing.T) {
	const n = 20
	for name, damage := range map[string]func(b []byte, offs int){
		"decreasing":       func(b []byte, offs int) { binary.LittleEndian.PutUint32(b[offs+4*3:], 1) },
		"past the data":    func(b []byte, offs int) { binary.LittleEndian.PutUint32(b[offs+4*n:], 1<<20) },
		"first past last":  func(b []byte, offs int) { binary.LittleEndian.PutUint32(b[offs:], 1<<20) },
		"inside a rune":    func(b []byte, offs int) { binary.LittleEndian.PutUint32(b[offs+4:], 2) }, // 'a','é' is 3 bytes: 2 cuts é
		"second past last": func(b []byte, offs int) { binary.LittleEndian.PutUint32(b[offs+4:], 1<<20) },
	} {
		t.Run(name, func(t *testing.T) {
			b, offs := directWindow(t, n)
			damage(b, offs)
			w, err := window.OpenBytes(b)
			require.NoError(t, err)
			r := directReader(t)
			h, released := newHold()
			assert.Nil(t, r.direct(w, 0, n, h))
			h.drop()
			assert.Equal(t, 1, *released)
		})
	}
}

// Invalid UTF-8, a NULL in a NOT NULL column, a type that is not the
// column's, a batch over the byte limit: all left to the copying read.
func TestDirectLeavesWhatItCannotRead(t *testing.T) {
	const n = 20
	b, offs := directWindow(t, n)
	for name, setup := range map[string]func(r *Reader) []byte{
		"invalid UTF-8": func(r *Reader) []byte {
			d := append([]byte(nil), b...)
			data := binary.LittleEndian.Uint64(d[64+48+32:]) // column 1's data
			o := binary.LittleEndian.Uint32(d[offs:])
			d[data+uint64(o)+1] = 0xff // 'a', then é's first byte
			return d
		},
		"NULL in NOT NULL": func(r *Reader) []byte { r.cols[1].notNull = true; return b },
		"another type": func(r *Reader) []byte {
			r.cols[3].typ = window.TypeInt64
			r.setType(&r.cols[3])
			return b
		},
		"over the byte limit": func(r *Reader) []byte { r.cfg.bytes = 100; return b },
	} {
		t.Run(name, func(t *testing.T) {
			r := directReader(t)
			w, err := window.OpenBytes(setup(r))
			require.NoError(t, err)
			h, released := newHold()
			assert.Nil(t, r.direct(w, 0, n, h))
			h.drop()
			assert.Equal(t, 1, *released)
		})
	}
}

var _ arrow.Array = (*array.Int64)(nil)

// isASCII finds a byte of 0x80 or more wherever it is.
func TestIsASCII(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		require.True(t, isASCII(b), "n=%d", n)
		for i := range b {
			b[i] |= 0x80
			require.False(t, isASCII(b), "n=%d, byte %d", n, i)
			b[i] &^= 0x80
		}
	}
}
