package window_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// Markers an earlier fill writes: one in the heap, one in a slot.
var (
	markerString = "MARKER-earlier-fill-" + strings.Repeat("s", 40)
	markerInt    = int64(binary.LittleEndian.Uint64([]byte("SECRET!!")))
)

// markedRows returns n rows that carry both markers.
func markedRows(n int) [][]value {
	rows := make([][]value, n)
	for i := range rows {
		rows[i] = []value{vInt(markerInt), vStr(markerString), vBlob([]byte(markerString))}
	}
	return rows
}

// plainRows returns n short rows without markers.
func plainRows(n int) [][]value {
	rows := make([][]value, n)
	for i := range rows {
		rows[i] = []value{vInt(int64(i)), vStr("x"), vNull()}
	}
	return rows
}

// consumerBytes opens the writer's window as a consumer in another process
// would (a duplicated descriptor for a memfd, the name or segment id
// otherwise), checks that it holds rows, and returns every byte the
// consumer can map: the whole file or segment, not only the window's size.
func consumerBytes(t testing.TB, w *window.Writer, rows [][]value) []byte {
	t.Helper()
	loc := w.Location()
	var r *window.Window
	var all []byte
	switch loc.Kind {
	case window.KindMemfd:
		fd, err := unix.FcntlInt(w.File().Fd(), unix.F_DUPFD_CLOEXEC, 0)
		require.NoError(t, err)
		f := os.NewFile(uintptr(fd), "dup")
		defer f.Close()
		r, err = window.Open(f)
		require.NoError(t, err)
		st, err := f.Stat()
		require.NoError(t, err)
		all = make([]byte, st.Size())
		_, err = f.ReadAt(all, 0)
		require.NoError(t, err)
	case window.KindShm:
		var err error
		r, err = window.OpenShm(loc.Name)
		require.NoError(t, err)
		all, err = os.ReadFile(shm.ShmDir + "/" + loc.Name)
		require.NoError(t, err)
	case window.KindSysV:
		var err error
		r, err = window.OpenSysV(loc.ID)
		require.NoError(t, err)
		seg, err := shm.SysVAttach(loc.ID, false)
		require.NoError(t, err)
		all = bytes.Clone(seg)
		require.NoError(t, shm.SysVDetach(seg))
	default:
		t.Fatalf("no consumer for %v", loc)
	}
	defer r.Close()
	require.NoError(t, r.Guard(func() error { assertRows(t, r, rows); return nil }))
	return all
}

// fillRows appends rows, checking the writer's invariants after the first
// few and at the end (after every row would make a large fill quadratic).
func fillRows(t testing.TB, w *window.Writer, rows [][]value) {
	t.Helper()
	k := min(len(rows), 5)
	writeRows(t, w, rows[:k])
	for _, r := range rows[k:] {
		require.NoError(t, w.AllocRow())
		for c, v := range r {
			require.NoError(t, put(w, c, v))
		}
	}
	checkInvariants(t, w)
}

// assertNoMarker asserts that b holds neither marker.
func assertNoMarker(t testing.TB, b []byte) {
	t.Helper()
	var mi [8]byte
	binary.LittleEndian.PutUint64(mi[:], uint64(markerInt))
	assert.Equal(t, -1, bytes.Index(b, []byte(markerString[:20])), "the earlier fill's string is readable")
	assert.Equal(t, -1, bytes.Index(b, mi[:]), "the earlier fill's integer is readable")
}

// TestRecycledWindowShowsNoEarlierFill fills a window with markers,
// resets it and refills it with fewer, shorter rows, then searches all the
// memory a consumer maps for the markers.
func TestRecycledWindowShowsNoEarlierFill(t *testing.T) {
	checkLeaks(t)
	backs := map[string][]window.Option{
		"memfd": nil, // the default
		"shm":   {window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)},
		"sysv":  {window.WithBacking(window.SysVBacking())},
	}
	sizes := map[string][]window.Option{
		// The provider's pool: made at its maximum size.
		"pooled": {window.WithInitialSize(256 << 10), window.WithMaxSize(256 << 10)},
		// Grown while first filled: the slots' old places are free space.
		"grown": {window.WithInitialSize(16 << 10), window.WithMaxSize(256 << 10)},
	}
	for bname, bopts := range backs {
		for sname, sopts := range sizes {
			t.Run(bname+"/"+sname, func(t *testing.T) {
				w, err := window.Create(3, append(append([]window.Option{}, bopts...), sopts...)...)
				require.NoError(t, err)
				defer w.Close()
				first := markedRows(1500)
				fillRows(t, w, first)
				require.NoError(t, w.SealReusable())
				assert.Contains(t, string(consumerBytes(t, w, first)), markerString, "the marker was written")

				require.NoError(t, w.Reset(0))
				second := plainRows(20)
				writeRows(t, w, second)
				require.NoError(t, w.SealReusable())
				assertNoMarker(t, consumerBytes(t, w, second))

				// Once more, ended with Seal: it cannot compact a reusable
				// window, but it zeroes the same way and ends reuse.
				require.NoError(t, w.Reset(0))
				fillRows(t, w, first[:700])
				require.NoError(t, w.SealReusable())
				require.NoError(t, w.Reset(0))
				writeRows(t, w, second[:3])
				require.NoError(t, w.Seal())
				assertNoMarker(t, consumerBytes(t, w, second[:3]))
				require.ErrorIs(t, w.Reset(0), window.ErrSealed)
			})
		}
	}
}

// TestRemovedRowLeavesNothing checks that the last row removed with
// FreeLastRow (its string and blob included) is gone from the sealed
// window too. (Only the last row's heap bytes are reclaimed: rows removed
// before it leave theirs in the heap, unreferenced.)
func TestRemovedRowLeavesNothing(t *testing.T) {
	for _, reusable := range []bool{true, false} {
		w := newMemfd(t, 3)
		kept := plainRows(5)
		writeRows(t, w, kept)
		writeRows(t, w, markedRows(1))
		require.NoError(t, w.FreeLastRow())
		checkInvariants(t, w)
		if reusable {
			require.NoError(t, w.SealReusable())
		} else {
			require.NoError(t, w.Seal())
		}
		assertNoMarker(t, consumerBytes(t, w, kept))
	}
}

// TestGrowLeavesNoStaleCopies checks that the buffers' old places are
// zeroed when a region grows and the window is laid out again: a later,
// smaller fill would otherwise show them.
func TestGrowLeavesNoStaleCopies(t *testing.T) {
	w := newMemfd(t, 3, window.WithInitialSize(16<<10), window.WithMaxSize(256<<10))
	first := make([][]value, 1000) // 24 KB of values: grown past 16 KiB
	for i := range first {
		first[i] = []value{vInt(markerInt), vNull(), vNull()}
	}
	fillRows(t, w, first)
	require.Greater(t, w.Size(), 16<<10, "the region grew")
	require.NoError(t, w.SealReusable())
	require.NoError(t, w.Reset(0))
	second := plainRows(10)
	writeRows(t, w, second)
	require.NoError(t, w.SealReusable())
	assertNoMarker(t, consumerBytes(t, w, second))
}

// TestUnwrittenFieldsOfARefillAreNull refills a window that held markers
// in every field with rows that write their first field (by Put, by a
// RowWriter, and one Bytes read while a row is open) and, in one row of
// five, the others: every field left unwritten reads NULL, not what the
// earlier fill left in its place.
func TestUnwrittenFieldsOfARefillAreNull(t *testing.T) {
	w := newMemfd(t, 3, window.WithInitialSize(64<<10), window.WithMaxSize(64<<10))
	fillRows(t, w, markedRows(300))
	require.NoError(t, w.SealReusable())
	require.NoError(t, w.Reset(0))
	const n = 200
	for i := range n {
		require.NoError(t, w.AllocRow())
		if i%2 == 0 {
			require.NoError(t, w.PutInt64(0, int64(i)))
		} else {
			row := w.Row()
			row.Int64(int64(i))
			require.NoError(t, row.Err())
		}
		if i%5 == 0 { // the columns have their types: the other rows are NULLs in them
			require.NoError(t, w.PutString(1, "s"))
			require.NoError(t, w.PutBlob(2, []byte{1}))
		}
		if i == n/2 {
			_, err := w.Bytes() // reads the open row: its fields NULL already
			require.NoError(t, err)
		}
	}
	checkInvariants(t, w)
	r := openSealed(t, w)
	require.Equal(t, n, r.NumRows())
	for i := range n {
		id, err := r.Int64(i, 0)
		require.NoError(t, err)
		require.Equal(t, int64(i), id)
		for c := 1; c < 3; c++ {
			null, err := r.IsNull(i, c)
			require.NoError(t, err)
			require.Equal(t, i%5 != 0, null, "row %d, column %d", i, c)
			v, err := r.Bytes(i, c)
			require.NoError(t, err)
			if null {
				require.Empty(t, v, "row %d, column %d", i, c)
			}
		}
	}
	all, err := w.Bytes()
	require.NoError(t, err)
	assertNoMarker(t, all)
}

// The same past 64 columns, where the written fields are recorded in
// more than one word: fields at both sides of each word's edge.
func TestUnwrittenFieldsPast64Columns(t *testing.T) {
	const ncols, n = 130, 20
	written := []int{0, 63, 64, 127, 128, 129}
	w := newMemfd(t, ncols)
	for pass := range 2 { // the second refills what the first left
		require.NoError(t, w.Reset(0))
		for i := range n {
			require.NoError(t, w.AllocRow())
			for _, c := range written {
				if pass == 0 || c != 64 {
					require.NoError(t, w.PutInt64(c, int64(i*1000+c)))
				}
			}
			if pass == 0 {
				for c := range ncols {
					if !slices.Contains(written, c) {
						require.NoError(t, w.PutInt64(c, -1))
					}
				}
			}
		}
		if pass == 0 {
			require.NoError(t, w.SealReusable())
		}
	}
	r := openSealed(t, w)
	for i := range n {
		for c := range ncols {
			null, err := r.IsNull(i, c)
			require.NoError(t, err)
			want := slices.Contains(written, c) && c != 64
			require.Equal(t, !want, null, "row %d, column %d", i, c)
			if want {
				v, err := r.Int64(i, c)
				require.NoError(t, err)
				require.Equal(t, int64(i*1000+c), v)
			}
		}
	}
}
