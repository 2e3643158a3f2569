package window_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// putBenchRowWhole writes the benchmark row with a RowWriter.
func putBenchRowWhole(w *window.Writer, i int) error {
	if err := w.AllocRow(); err != nil {
		return err
	}
	row := w.Row()
	row.Int64(int64(i))
	row.Float64(float64(i) * 0.5)
	row.String(benchStr)
	row.Blob(benchBlob)
	return row.Err()
}

// putWholeRow writes r into the writer's last row with a RowWriter.
func putWholeRow(w *window.Writer, r []value) error {
	row := w.Row()
	for _, v := range r {
		switch v.t {
		case window.TypeInt64:
			row.Int64(v.i)
		case window.TypeFloat64:
			row.Float64(v.f)
		case window.TypeString:
			row.String(v.s)
		case window.TypeBlob:
			row.Blob([]byte(v.s))
		default:
			row.Null()
		}
	}
	return row.Err()
}

// TestRowWriterWritesWhatPutsWrite fills two windows with the same rows,
// one field by field and one with a RowWriter, through growth from 16 KiB
// (Go memory and a memfd): the bytes are the same after every row.
func TestRowWriterWritesWhatPutsWrite(t *testing.T) {
	rows := sampleRows(300)
	rows = append(rows, []value{vStr(""), vBlob(nil), vNull(), vStr(strings.Repeat("y", 5000)), vInt(-1)})
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "go-memory", true: "memfd"}[shared], func(t *testing.T) {
			opts := []window.Option{window.WithInitialSize(16 << 10), window.WithMaxSize(1 << 20)}
			mk := func() *window.Writer {
				w, err := window.New(5, opts...)
				if shared {
					w, err = window.Create(5, opts...)
				}
				require.NoError(t, err)
				t.Cleanup(func() { w.Close() })
				return w
			}
			fields, whole := mk(), mk()
			for i, r := range rows {
				require.NoError(t, fields.AllocRow())
				for c, v := range r {
					require.NoError(t, put(fields, c, v))
				}
				require.NoError(t, whole.AllocRow())
				require.NoError(t, putWholeRow(whole, r), "row %d", i)
				checkInvariants(t, whole)
				a, err := fields.Bytes()
				require.NoError(t, err)
				b, err := whole.Bytes()
				require.NoError(t, err)
				require.True(t, bytes.Equal(a, b), "row %d: the bytes differ", i)
			}
			assertRows(t, view(t, whole), rows)
		})
	}
}

func TestRowWriterErrors(t *testing.T) {
	w, err := window.New(2, window.WithInitialSize(4096), window.WithMaxSize(4096))
	require.NoError(t, err)
	defer w.Close()

	row := w.Row()
	row.Int64(1)
	require.ErrorIs(t, row.Err(), window.ErrNoRow, "no row allocated")

	require.NoError(t, w.AllocRow())
	row = w.Row()
	row.Int64(1)
	row.String("a")
	row.Blob([]byte("too many"))
	row.Int64(2)
	require.ErrorIs(t, row.Err(), window.ErrOutOfRange, "three fields in two columns")
	assertRows(t, view(t, w), [][]value{{vInt(1), vStr("a")}})

	// Fewer fields than columns: the rest stay NULL.
	require.NoError(t, w.AllocRow())
	row = w.Row()
	row.Float64(2.5)
	require.NoError(t, row.Err())
	assertRows(t, view(t, w), [][]value{{vInt(1), vStr("a")}, {vFloat(2.5), vNull()}})

	// A string that does not fit rolls the row back, and the error sticks.
	require.NoError(t, w.AllocRow())
	row = w.Row()
	row.Int64(3)
	row.String(strings.Repeat("z", 5000))
	row.Int64(4)
	require.ErrorIs(t, row.Err(), window.ErrWindowFull)
	assert.Equal(t, 2, w.NumRows(), "the row that did not fit is gone")
	checkInvariants(t, w)
	assertRows(t, view(t, w), [][]value{{vInt(1), vStr("a")}, {vFloat(2.5), vNull()}})

	require.NoError(t, w.Seal())
	require.ErrorIs(t, w.Row().Err(), window.ErrSealed)
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Row().Err(), window.ErrClosed)
}

func TestRowWriterAllocatesNothing(t *testing.T) {
	w := newMemfd(t, benchCols, window.WithInitialSize(4<<20), window.WithMaxSize(4<<20))
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := putBenchRowWhole(w, i); err != nil {
			require.NoError(t, w.Reset(0))
		}
		i++
	})
	assert.Zero(t, allocs, "allocations per row written")
}
