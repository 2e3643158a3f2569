package window_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

const poolWindow = 64 << 10

// newPool returns a pool of 64 KiB windows closed in t.Cleanup.
func newPool(t testing.TB, budget int64, opts ...window.PoolOption) *window.Pool {
	t.Helper()
	p, err := window.NewPool(poolWindow, budget, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

// get takes a window from p, failing the test on error.
func get(t testing.TB, p *window.Pool, ncols int, start int64) *window.Writer {
	t.Helper()
	w, err := p.Get(context.Background(), ncols, start)
	require.NoError(t, err)
	checkPool(t, p)
	return w
}

// checkPool asserts what must hold of a pool after every operation: no
// more windows out and idle than the budget holds.
func checkPool(t testing.TB, p *window.Pool) {
	t.Helper()
	st := p.Stats()
	assert.GreaterOrEqual(t, st.Out, 0)
	assert.GreaterOrEqual(t, st.Idle, 0)
	assert.LessOrEqual(t, st.Out+st.Idle, st.MaxWindows, "windows out and idle within the budget")
}

func TestPoolBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int64
		want   int
	}{
		{"below one window", 0, 1},
		{"one window", poolWindow, 1},
		{"rounded down", 3*poolWindow + poolWindow/2, 3},
		{"many", 100 * poolWindow, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.budget, window.WithWait(0))
			assert.Equal(t, window.PoolStats{WindowSize: poolWindow, MaxWindows: tc.want}, p.Stats())
			var out []*window.Writer
			for range tc.want {
				out = append(out, get(t, p, 1, 0))
			}
			_, err := p.Get(context.Background(), 1, 0)
			require.ErrorIs(t, err, window.ErrPoolExhausted)
			for _, w := range out {
				p.Put(w)
				checkPool(t, p)
			}
			assert.Equal(t, window.PoolStats{WindowSize: poolWindow, MaxWindows: tc.want, Idle: tc.want}, p.Stats())
		})
	}
}

func TestPoolRefillsTheSameMemory(t *testing.T) {
	checkLeaks(t)
	p := newPool(t, 4*poolWindow)
	w := get(t, p, 5, 1000)
	assert.Equal(t, window.KindMemfd, w.Location().Kind)
	assert.Equal(t, poolWindow, w.Size(), "a pooled window starts at its full size")
	rows := sampleRows(50)
	writeRows(t, w, rows)
	require.NoError(t, w.SealReusable())
	r := openReader(t, w)
	assertRows(t, r, rows)
	id := r.Identity()
	require.NoError(t, r.Close())
	p.Put(w)
	assert.Equal(t, 1, p.Stats().Idle)

	w2 := get(t, p, 2, 7)
	assert.Same(t, w, w2, "the idle window is reused")
	assert.Equal(t, 0, w2.NumRows())
	assert.Equal(t, 2, w2.NumColumns(), "another shape")
	assert.Equal(t, int64(7), w2.StartPos())
	rows2 := [][]value{{vInt(1), vStr("refilled")}}
	writeRows(t, w2, rows2)
	require.NoError(t, w2.SealReusable())
	r2 := openReader(t, w2)
	assertRows(t, r2, rows2)
	assert.Equal(t, id, r2.Identity(), "the same memfd")
	require.NoError(t, r2.Close())
	p.Put(w2)
}

// openReader opens a sealed pooled window as a consumer would.
func openReader(t testing.TB, w *window.Writer) *window.Window {
	t.Helper()
	r, err := window.Open(w.File())
	require.NoError(t, err)
	return r
}

func TestPoolPutOfAWindowThatCannotBeRefilled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*window.Writer) error
		kept  bool
	}{
		{"never sealed", func(*window.Writer) error { return nil }, true},
		{"sealed for reuse", (*window.Writer).SealReusable, true},
		{"sealed for good", (*window.Writer).Seal, false},
		{"closed", (*window.Writer).Close, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			p := newPool(t, poolWindow, window.WithWait(0))
			w := get(t, p, 1, 0)
			writeRows(t, w, [][]value{{vStr("x")}})
			require.NoError(t, tc.spoil(w))
			p.Put(w)
			checkPool(t, p)
			st := p.Stats()
			assert.Equal(t, 0, st.Out)
			if tc.kept {
				assert.Equal(t, 1, st.Idle)
			} else {
				assert.Equal(t, 0, st.Idle, "closed, not kept")
				_, err := w.Bytes()
				assert.ErrorIs(t, err, window.ErrClosed)
			}
			w2 := get(t, p, 1, 0) // the budget is free again
			assert.Equal(t, tc.kept, w2 == w)
			writeRows(t, w2, [][]value{{vStr("y")}})
			p.Put(w2)
		})
	}
}

func TestPoolPutPanicsOnAWindowNotOut(t *testing.T) {
	p := newPool(t, 2*poolWindow)
	other := newPool(t, poolWindow)
	w := get(t, p, 1, 0)
	ow := get(t, other, 1, 0)
	plain := newMemfd(t, 1)
	assert.Panics(t, func() { p.Put(ow) }, "another pool's window")
	assert.Panics(t, func() { p.Put(plain) }, "a window of no pool")
	assert.Panics(t, func() { p.Put(nil) })
	p.Put(w)
	assert.Panics(t, func() { p.Put(w) }, "put twice")
	other.Put(ow)
	checkPool(t, p)
	assert.Equal(t, window.PoolStats{WindowSize: poolWindow, MaxWindows: 2, Idle: 1}, p.Stats())
}

func TestPoolGetWaits(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
		// cancel ends the Get's context after 20 ms; put gives the held
		// window back after 20 ms.
		cancel, put bool
		want        error
	}{
		{"a window comes back", 5 * time.Second, false, true, nil},
		{"none comes back", 30 * time.Millisecond, false, false, window.ErrPoolExhausted},
		{"the context ends", 5 * time.Second, true, false, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, poolWindow, window.WithWait(tc.wait))
			held := get(t, p, 1, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timer := time.AfterFunc(20*time.Millisecond, func() {
				if tc.cancel {
					cancel()
				}
				if tc.put {
					p.Put(held)
				}
			})
			defer timer.Stop()
			start := time.Now()
			w, err := p.Get(ctx, 3, 5)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				assert.Nil(t, w)
				assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "it waited")
				p.Put(held)
				return
			}
			require.NoError(t, err)
			assert.Same(t, held, w, "the window that came back")
			assert.Equal(t, 3, w.NumColumns())
			p.Put(w)
		})
	}
}

func TestPoolEvictHookGivesAWindowBack(t *testing.T) {
	var p *window.Pool
	var mu sync.Mutex
	var cached []*window.Writer // idle windows a cache of results keeps
	calls := 0
	evict := func() bool {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if len(cached) == 0 {
			return false
		}
		w := cached[0]
		cached = cached[1:]
		p.Put(w)
		return true
	}
	p = newPool(t, 2*poolWindow, window.WithEvict(evict), window.WithWait(10*time.Millisecond))
	a, b := get(t, p, 1, 0), get(t, p, 1, 0)
	assert.Zero(t, calls, "not called while the budget allows")
	cached = []*window.Writer{a, b}

	c := get(t, p, 1, 0)
	assert.Same(t, a, c, "the oldest cached window was given back and reused")
	assert.Equal(t, 1, calls)
	d := get(t, p, 1, 0)
	assert.Same(t, b, d)

	_, err := p.Get(context.Background(), 1, 0)
	require.ErrorIs(t, err, window.ErrPoolExhausted, "nothing left to evict: wait, then fail")
	assert.Equal(t, 3, calls)
	p.Put(c)
	p.Put(d)
}

func TestPoolClose(t *testing.T) {
	checkLeaks(t)
	p, err := window.NewPool(poolWindow, 2*poolWindow)
	require.NoError(t, err)
	idle, out := get(t, p, 1, 0), get(t, p, 1, 0)
	p.Put(idle)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "idempotent")
	_, err = idle.Bytes()
	assert.ErrorIs(t, err, window.ErrClosed, "the idle window is closed")
	_, err = p.Get(context.Background(), 1, 0)
	require.ErrorIs(t, err, window.ErrClosed)

	writeRows(t, out, [][]value{{vInt(1)}})
	p.Put(out)
	_, err = out.Bytes()
	assert.ErrorIs(t, err, window.ErrClosed, "a window put after Close is closed")
	assert.Equal(t, window.PoolStats{WindowSize: poolWindow, MaxWindows: 2}, p.Stats())
}

func TestPoolCloseEndsAWait(t *testing.T) {
	checkLeaks(t)
	p, err := window.NewPool(poolWindow, poolWindow, window.WithWait(time.Minute))
	require.NoError(t, err)
	out := get(t, p, 1, 0)
	waiting := make(chan error)
	go func() {
		_, err := p.Get(context.Background(), 1, 0)
		waiting <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, p.Close())
	select {
	case err := <-waiting:
		require.ErrorIs(t, err, window.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the wait")
	}
	p.Put(out)
}

func TestPoolOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int64
		opts    []window.PoolOption
		wantErr bool
		kind    window.Kind
	}{
		{"memfd", poolWindow, nil, false, window.KindMemfd},
		{"shm", poolWindow, []window.PoolOption{window.WithWindowOptions(window.WithBacking(window.ShmBacking()), window.WithName(testPrefix))}, false, window.KindShm},
		{"sysv", poolWindow, []window.PoolOption{window.WithWindowOptions(window.WithBacking(window.SysVBacking()))}, false, window.KindSysV},
		{"size options are the pool's", poolWindow, []window.PoolOption{window.WithWindowOptions(window.WithMaxSize(1<<20), window.WithInitialSize(1<<20), window.WithStartPos(9))}, false, window.KindMemfd},
		{"file", poolWindow, []window.PoolOption{window.WithWindowOptions(window.WithBacking(window.FileBacking(t.TempDir() + "/w")))}, true, 0},
		{"too small", 16, nil, true, 0},
		{"nil backing", poolWindow, []window.PoolOption{window.WithWindowOptions(window.WithBacking(nil))}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := window.NewPool(tc.size, 4*tc.size, tc.opts...)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			defer p.Close()
			w := get(t, p, 2, 3)
			assert.Equal(t, tc.kind, w.Location().Kind)
			assert.Equal(t, int(tc.size), w.Size())
			assert.Equal(t, int64(3), w.StartPos())
			rows := [][]value{{vInt(1), vStr("a")}, {vNull(), vBlob([]byte{1, 2})}}
			writeRows(t, w, rows)
			require.NoError(t, w.SealReusable())
			p.Put(w)
			w2 := get(t, p, 2, 0)
			assert.Same(t, w, w2)
			writeRows(t, w2, rows[:1])
			require.NoError(t, w2.SealReusable())
			r, err := window.OpenLocation(w2.Location())
			if tc.kind == window.KindMemfd {
				r, err = window.Open(w2.File())
			}
			require.NoError(t, err)
			assertRows(t, r, rows[:1])
			require.NoError(t, r.Close())
			p.Put(w2)
		})
	}
	p := newPool(t, poolWindow)
	_, err := p.Get(context.Background(), 0, 0)
	require.ErrorIs(t, err, window.ErrOutOfRange)
	_, err = p.Get(context.Background(), 1, -1)
	require.Error(t, err)
	assert.Equal(t, 0, p.Stats().Out, "a refused Get takes no window")
}

// TestPoolConcurrentGetPut runs fills on many goroutines against a small
// budget (meant for -race): every Get gets an empty window of its shape
// or ErrPoolExhausted, the budget is never exceeded, nothing leaks.
func TestPoolConcurrentGetPut(t *testing.T) {
	checkLeaks(t)
	p, err := window.NewPool(poolWindow, 3*poolWindow, window.WithWait(time.Second))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				ncols := 1 + (g+i)%4
				w, err := p.Get(context.Background(), ncols, int64(i))
				if err != nil {
					assert.ErrorIs(t, err, window.ErrPoolExhausted)
					continue
				}
				st := p.Stats()
				assert.LessOrEqual(t, st.Out+st.Idle, st.MaxWindows)
				assert.Equal(t, 0, w.NumRows())
				assert.Equal(t, ncols, w.NumColumns())
				assert.Equal(t, int64(i), w.StartPos())
				for r := range 20 {
					if assert.NoError(t, w.AllocRow()) {
						assert.NoError(t, w.PutString(ncols-1, "row"+string(rune('a'+r))))
					}
				}
				if i%5 == 4 {
					assert.NoError(t, w.Seal()) // not refillable: closed by Put
				} else {
					assert.NoError(t, w.SealReusable())
				}
				p.Put(w)
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	assert.Equal(t, 0, st.Out)
	assert.LessOrEqual(t, st.Idle, 3)
	require.NoError(t, p.Close())
}

// A shape too wide for the pool's windows is refused before any window is
// taken, reset or closed for it.
func TestPoolRefusesTooWideShapes(t *testing.T) {
	p := newPool(t, 4<<20)
	w, err := p.Get(context.Background(), 1, 0)
	require.NoError(t, err)
	p.Put(w)
	before := p.Stats()
	wide := int(window.DefaultMaxSize / 64)
	_, err = p.Get(context.Background(), wide, 0)
	require.ErrorIs(t, err, window.ErrTooLarge)
	assert.Equal(t, before, p.Stats(), "no window was taken or closed")
	w2, err := p.Get(context.Background(), 1, 0)
	require.NoError(t, err)
	assert.Same(t, w, w2, "the idle window is still there")
	p.Put(w2)
}
