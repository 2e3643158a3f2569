package content

import (
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
)

// A Cursor holds windows and a query on the provider until Close. Like
// Android's CloseGuard, a cursor that is garbage-collected without Close
// while it holds any (an open query, a shared window, a window asked for)
// is reported: counted in ClientStats.LeakedCursors and logged (slog's
// default logger) with the stack of the Query that opened it when stacks
// are recorded (CURSORWINDOW_CURSOR_STACKS=1 in the environment). The report is a leak detector only: the windows stay held
// until the client closes (runtime cleanups are not a way to free them).

// cursorStacksEnv turns on stacks for every client.
const cursorStacksEnv = "CURSORWINDOW_CURSOR_STACKS"

var envStacks = os.Getenv(cursorStacksEnv) == "1"

// leakReport is what the cleanup of a leaked cursor reports.
type leakReport struct {
	leaked *atomic.Int64
	uri    string
	stack  string
}

// guard arranges for cur to be reported if it is collected unclosed
// while it holds what the provider must get back. A cursor that holds
// nothing (a whole result in one inline window, the provider's query
// closed by that answer: most small queries) costs no cleanup, until it
// does hold something (Requery).
func (c *Client) guard(cur *Cursor) {
	if cur.guarded || !cur.holds() {
		return
	}
	cur.guarded = true
	r := leakReport{leaked: &c.leaked, uri: cur.msg.URI}
	if c.stacks {
		buf := make([]byte, 8<<10)
		r.stack = string(buf[:runtime.Stack(buf, false)])
	}
	cur.guard = runtime.AddCleanup(cur, reportLeak, r)
}

func reportLeak(r leakReport) {
	r.leaked.Add(1)
	attrs := []any{"uri", r.uri}
	if r.stack != "" {
		attrs = append(attrs, "opened at", r.stack)
	} else {
		attrs = append(attrs, "hint", "set "+cursorStacksEnv+"=1 to see where it was opened")
	}
	slog.Warn("content: a Cursor was garbage-collected without Close; its windows stay held until the client closes", attrs...)
}

// ClientStats is a snapshot of a client's state.
type ClientStats struct {
	Pending       int   // requests waiting for their answer
	Mappings      int   // window mappings kept, held or idle
	LeakedCursors int64 // cursors garbage-collected without Close while they held windows or a query of the provider's
}

// Stats returns a snapshot of the client's state.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	st := ClientStats{Pending: len(c.pending)}
	c.mu.Unlock()
	if c.maps != nil {
		ms := c.maps.Stats()
		st.Mappings = ms.InUse + ms.Idle
	}
	st.LeakedCursors = c.leaked.Load()
	return st
}

// holds reports whether the cursor holds something of the provider's: an
// open query, a shared window, or a window asked for ahead.
func (cur *Cursor) holds() bool {
	return cur.query != 0 || len(cur.ahead) > 0 || (cur.cur != nil && cur.cur.win != 0)
}
