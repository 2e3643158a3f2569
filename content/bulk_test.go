package content_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
	"github.com/cursorwindow/cursorwindow/window"
)

var bulkCols = []string{"i", "f", "s", "b", "n"}

// bulkRow is row i of a load exercising every field type: int64
// extremes, NaN and infinities, unicode, blobs, and NULLs.
func bulkRow(i int) []any {
	ints := []int64{math.MinInt64, math.MaxInt64, 0, -1, int64(i)}
	floats := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), float64(i) / 3}
	strs := []string{"", "héllo wörld", "日本語のテキスト", "emoji 🚀🌍", strings.Repeat("x", i%300)}
	var blob []byte
	if i%7 != 0 {
		blob = []byte(fmt.Sprintf("blob\x00%d\xff", i))
	}
	row := []any{ints[i%5], floats[i%5], strs[i%5], blob, nil}
	if i%3 == 0 {
		row[0] = nil // NULL in a column that is mostly integers
	}
	if i%11 == 0 {
		row[4] = int64(i)
	}
	return row
}

func newBulkProvider() *contenttest.MemProvider {
	p := contenttest.NewMemProvider()
	p.AddTable("t", bulkCols, nil)
	return p
}

// checkTable reads uri back and compares it with want, value for value.
func checkTable(t *testing.T, c *content.Client, uri string, want [][]any) {
	t.Helper()
	cur, err := c.Query(context.Background(), &content.Query{URI: uri})
	require.NoError(t, err)
	defer cur.Close()
	var i int
	for ; cur.Next(); i++ {
		require.Less(t, i, len(want), "more rows than inserted")
		for col, v := range want[i] {
			got := cursorValue(t, cur, col)
			if f, ok := v.(float64); ok && math.IsNaN(f) {
				assert.True(t, math.IsNaN(got.(float64)), "row %d col %d", i, col)
				continue
			}
			if b, ok := v.([]byte); ok && b == nil {
				v = nil // a nil []byte is NULL
			}
			if v, ok := v.(float64); ok && v == 0 {
				assert.Equal(t, math.Signbit(v), math.Signbit(got.(float64)), "row %d col %d: the sign of zero", i, col)
			}
			require.Equal(t, v, got, "row %d col %d", i, col)
		}
	}
	require.NoError(t, cur.Err())
	require.Equal(t, len(want), i)
}

func cursorValue(t *testing.T, cur *content.Cursor, col int) any {
	t.Helper()
	typ, err := cur.Type(col)
	require.NoError(t, err)
	var v any
	switch typ {
	case window.TypeNull:
		return nil
	case window.TypeInt64:
		v, err = cur.Int64(col)
	case window.TypeFloat64:
		v, err = cur.Float64(col)
	case window.TypeString:
		v, err = cur.String(col)
	case window.TypeBlob:
		v, err = cur.Bytes(col)
	}
	require.NoError(t, err)
	return v
}

// A load of every field type, across many windows and one row larger
// than a window, reads back value for value.
func TestBulkInsertEveryType(t *testing.T) {
	p := newBulkProvider()
	path, s := startServer(t, p, provider.WithWindowSize(64<<10))
	c := contenttest.Dial(t, path)
	ctx := context.Background()
	w, err := c.Register(ctx, "t", false)
	require.NoError(t, err)
	defer w.Close()

	b, err := c.BulkInsert(ctx, "t", bulkCols)
	require.NoError(t, err)
	var want [][]any
	for i := range 20_000 {
		row := bulkRow(i)
		if i == 12_345 {
			row[3] = make([]byte, 200<<10) // larger than a window
		}
		require.NoError(t, b.Append(row...))
		want = append(want, row)
	}
	assert.Equal(t, int64(20_000), b.Rows())
	n, err := b.Close()
	require.NoError(t, err)
	assert.Equal(t, int64(20_000), n)
	checkTable(t, c, "t", want)
	select {
	case <-w.C():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of the load")
	}
	select {
	case uri := <-w.C():
		t.Fatalf("a second notification (%s): one per load", uri)
	default:
	}
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 }, 10*time.Second, 5*time.Millisecond,
		"the consumer holds no window (its release is posted)")
}

// A load of no rows inserts nothing and succeeds.
func TestBulkInsertEmpty(t *testing.T) {
	path, _ := startServer(t, newBulkProvider())
	c := contenttest.Dial(t, path)
	b, err := c.BulkInsert(context.Background(), "t", bulkCols)
	require.NoError(t, err)
	n, err := b.Close()
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = b.Close()
	require.NoError(t, err, "Close again")
	assert.Zero(t, n)
}

// failingTx fails the insert of a row whose column i is failAt.
type failing struct {
	*contenttest.MemProvider
	failAt int64
}

func (p *failing) check(values content.Values) error {
	if v, ok := values["i"].(int64); ok && v == p.failAt {
		return fmt.Errorf("%w: row %d refused", content.ErrBadRequest, v)
	}
	return nil
}

func (p *failing) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	if err := p.check(values); err != nil {
		return 0, err
	}
	return p.MemProvider.Insert(ctx, uri, values)
}

func (p *failing) Begin(ctx context.Context) (provider.Tx, error) {
	tx, err := p.MemProvider.Begin(ctx)
	return &failingTx{Tx: tx, p: p}, err
}

type failingTx struct {
	provider.Tx
	p *failing
}

func (tx *failingTx) Insert(ctx context.Context, uri string, values content.Values) (int64, error) {
	if err := tx.p.check(values); err != nil {
		return 0, err
	}
	return tx.Tx.Insert(ctx, uri, values)
}

// rowByRow is a provider that can be neither bulk nor atomic.
type rowByRow struct{ p *failing }

func (r rowByRow) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	return r.p.Query(ctx, q)
}
func (r rowByRow) Insert(ctx context.Context, uri string, v content.Values) (int64, error) {
	return r.p.Insert(ctx, uri, v)
}
func (r rowByRow) Update(ctx context.Context, uri string, v content.Values, sel string, args []any) (int64, error) {
	return r.p.Update(ctx, uri, v, sel, args)
}
func (r rowByRow) Delete(ctx context.Context, uri string, sel string, args []any) (int64, error) {
	return r.p.Delete(ctx, uri, sel, args)
}
func (r rowByRow) Call(ctx context.Context, m, a string, e content.Values) (content.Values, error) {
	return r.p.Call(ctx, m, a, e)
}

func seqRows(n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), float64(i), "s", nil, nil}
	}
	return rows
}

// A failing row fails the load: with a Transactor nothing is kept, row
// by row the rows before it are, and the error says which and how many.
func TestBulkInsertFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		atomic bool
	}{{"transactor", true}, {"row by row", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failing{MemProvider: newBulkProvider(), failAt: 7_000}
			var p provider.Provider = f
			if !tc.atomic {
				p = rowByRow{f}
			}
			path, _ := startServer(t, p, provider.WithWindowSize(16<<10))
			c := contenttest.Dial(t, path)
			b, err := c.BulkInsert(context.Background(), "t", bulkCols)
			require.NoError(t, err)
			var appendErr error
			for _, row := range seqRows(10_000) {
				if appendErr = b.Append(row...); appendErr != nil {
					break // the failure may be reported while appending
				}
			}
			_, err = b.Close()
			require.Error(t, err)
			if appendErr != nil {
				require.Equal(t, appendErr, err, "the same error from every later call")
			}
			var we *content.WriteError
			require.ErrorAs(t, err, &we)
			assert.Equal(t, int64(7_000), we.Index)
			assert.ErrorIs(t, err, content.ErrBadRequest)
			assert.Contains(t, err.Error(), "row 7000 refused")
			want := seqRows(7_000)
			if tc.atomic {
				want = nil
				assert.Zero(t, we.Kept)
			} else {
				assert.Equal(t, int64(7_000), we.Kept)
			}
			checkTable(t, c, "t", want)
			// The connection serves on.
			b, err = c.BulkInsert(context.Background(), "t", bulkCols)
			require.NoError(t, err)
			require.NoError(t, b.Append(seqRows(1)[0]...))
			n, err := b.Close()
			require.NoError(t, err)
			assert.Equal(t, int64(1), n)
		})
	}
}

// An aborted load leaves nothing behind; so does a consumer that goes
// away mid-load.
func TestBulkInsertAbort(t *testing.T) {
	p := newBulkProvider()
	path, s := startServer(t, p, provider.WithWindowSize(16<<10))
	c := contenttest.Dial(t, path)
	b, err := c.BulkInsert(context.Background(), "t", bulkCols)
	require.NoError(t, err)
	for _, row := range seqRows(5_000) {
		require.NoError(t, b.Append(row...))
	}
	b.Abort()
	b.Abort()
	require.ErrorIs(t, b.Append(seqRows(1)[0]...), content.ErrClosed)
	_, err = b.Close()
	require.ErrorIs(t, err, content.ErrClosed)

	gone, err := content.Dial(context.Background(), path)
	require.NoError(t, err)
	b, err = gone.BulkInsert(context.Background(), "t", bulkCols)
	require.NoError(t, err)
	for _, row := range seqRows(5_000) {
		require.NoError(t, b.Append(row...))
	}
	require.NoError(t, gone.Close())

	// Every load ended: the transaction of each was rolled back, which
	// an ApplyBatch (waiting for the provider's lock) shows.
	_, err = c.ApplyBatch(context.Background(), []content.Operation{{Op: content.OpDelete, URI: "t"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 && s.Stats().Conns == 1 }, 10*time.Second, 5*time.Millisecond)
	checkTable(t, c, "t", nil)
}

// A consumer's permission to insert is checked before the load begins.
func TestBulkInsertRefused(t *testing.T) {
	path, _ := startServer(t, newBulkProvider(), provider.WithPermission(func(_ fdpass.Cred, op content.Op, uri string) error {
		if op == content.OpInsert {
			return errors.New("read-only consumer")
		}
		return nil
	}))
	c := contenttest.Dial(t, path)
	_, err := c.BulkInsert(context.Background(), "t", bulkCols)
	require.ErrorIs(t, err, content.ErrPermission)
	_, err = c.BulkInsert(context.Background(), "t", nil)
	require.ErrorIs(t, err, content.ErrBadRequest)
}

// A load into a table that does not exist fails with the provider's
// error, the connection serving on.
func TestBulkInsertUnknownTable(t *testing.T) {
	path, _ := startServer(t, newBulkProvider())
	c := contenttest.Dial(t, path)
	b, err := c.BulkInsert(context.Background(), "nope", bulkCols)
	if err == nil {
		require.NoError(t, b.Append(seqRows(1)[0]...))
		_, err = b.Close()
	}
	require.ErrorIs(t, err, content.ErrNotFound)
	_, err = c.Insert(context.Background(), "t", content.Values{"i": 1})
	require.NoError(t, err)
}

// Many loads at once, half of them failing, leave descriptors, windows
// and goroutines where they were.
func TestBulkInsertBaselines(t *testing.T) {
	f := &failing{MemProvider: newBulkProvider(), failAt: 3}
	path, s := startServer(t, f, provider.WithWindowSize(16<<10))
	c := contenttest.Dial(t, path)
	run := func(i int) {
		b, err := c.BulkInsert(context.Background(), "t", bulkCols)
		require.NoError(t, err)
		for j := range 50 {
			row := seqRows(1)[0]
			row[0] = int64(10 + j)
			if i%2 == 1 && j == 25 {
				row[0] = int64(3) // fails
			}
			if b.Append(row...) != nil {
				break
			}
		}
		_, err = b.Close()
		if i%2 == 1 {
			require.Error(t, err)
		} else {
			require.NoError(t, err)
		}
	}
	run(0) // warm: the pool and the mappings
	fds := countFDs(t)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				run(w*250 + i)
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return s.Stats().WindowsOut == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.LessOrEqual(t, countFDs(t), fds+8, "descriptors after 1,000 loads")
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(32<<20), "heap after 1,000 loads")
}
