package content

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// protocolVersion is the version of the content protocol spoken in the
// handshake. docs/PROTOCOL.md describes every message.
const protocolVersion = 1

// Message type codes on the wire.
const (
	codeHello uint16 = iota + 1
	codeHelloReply
	codeQuery
	codeWindow
	codeFillWindow
	codeRelease
	codeCloseQuery
	codeError
	codeOK
	codeRegister
	codeUnregister
	codeNotify
	codeWrite
	codeWriteReply
	codeBulk
	codeBatch
	codeBatchReply
)

// providerOnly reports the messages only a provider sends: a consumer
// that sends one ends its connection, whether or not its body decodes.
func providerOnly(code uint16) bool {
	switch code {
	case codeHelloReply, codeWindow, codeError, codeOK, codeNotify, codeWriteReply, codeBatchReply:
		return true
	}
	return false
}

// helloMsg opens a session: the client's protocol version.
type helloMsg struct {
	Version int `msgpack:"v"`
}

// helloReplyMsg answers helloMsg with the server's version and limits.
type helloReplyMsg struct {
	Version     int   `msgpack:"v"`
	MaxBody     int   `msgpack:"mb"`
	WindowSize  int64 `msgpack:"ws"`
	MaxQueries  int   `msgpack:"mq"`
	MaxWindows  int   `msgpack:"mw"`
	InlineLimit int64 `msgpack:"il"`
	// Budget is the provider's window memory: how many windows a consumer
	// may meet again, and so how many mappings are worth keeping.
	Budget int64 `msgpack:"pb"`
	// MaxRowWindow is the largest window the provider sends (a one-off
	// window for a row larger than WindowSize); 0 from older providers.
	// A consumer refuses a window larger than this or WindowSize.
	MaxRowWindow int64 `msgpack:"mr,omitempty"`
}

// queryMsg asks for a query's first window.
type queryMsg struct {
	Req        uint64   `msgpack:"r"`
	URI        string   `msgpack:"u"`
	Projection []string `msgpack:"p,omitempty"`
	Selection  string   `msgpack:"s,omitempty"`
	Args       []any    `msgpack:"a,omitempty"`
	Order      string   `msgpack:"o,omitempty"`
	Limit      int64    `msgpack:"l,omitempty"`
	// Inline forces windows to be copied through the socket, not shared.
	Inline bool `msgpack:"i,omitempty"`
}

// windowMsg carries a window: inline bytes or an attached sealed memfd.
// It answers queryMsg (with the columns) and fillWindowMsg.
type windowMsg struct {
	Req     uint64   `msgpack:"r"`
	Query   uint64   `msgpack:"q"`
	Columns []string `msgpack:"c,omitempty"`
	// Types are the columns' declared types ("" unknown), and Nullable
	// whether each may hold NULL (1), may not (0) or is unknown (-1):
	// optional, with Columns, one element per column.
	Types    []string `msgpack:"t,omitempty"`
	Nullable []int8   `msgpack:"nl,omitempty"`
	// Count is the total number of rows, or -1 while unknown.
	Count int64 `msgpack:"n"`
	// Win names a window the client must release; 0 for inline windows.
	Win   uint64 `msgpack:"w,omitempty"`
	Start int64  `msgpack:"s"`
	Rows  int    `msgpack:"k"`
	// Last reports that the window holds the result's last row.
	Last   bool   `msgpack:"e,omitempty"`
	Inline []byte `msgpack:"b,omitempty"`
	// Done reports that the provider closed the query after this reply:
	// the whole result is in this window.
	Done bool `msgpack:"d,omitempty"`
	// Backing names where a shared window is when no memfd is attached:
	// "shm", the POSIX shm object Name, or "sysv", the System V segment
	// SegID created under Key. Empty for memfd and inline windows.
	Backing string `msgpack:"bk,omitempty"`
	Name    string `msgpack:"bn,omitempty"`
	SegID   int    `msgpack:"bi,omitempty"`
	Key     int    `msgpack:"by,omitempty"`
}

// setLocation announces a window of a named backing by its location.
func (m *windowMsg) setLocation(l window.Location) {
	switch l.Kind {
	case window.KindShm:
		m.Backing, m.Name = "shm", l.Name
	case window.KindSysV:
		m.Backing, m.SegID, m.Key = "sysv", l.ID, l.Key
	}
}

// location returns the location a window announced by name or key is at.
func (m *windowMsg) location() (window.Location, error) {
	switch m.Backing {
	case "shm":
		return window.Location{Kind: window.KindShm, Name: m.Name}, nil
	case "sysv":
		return window.Location{Kind: window.KindSysV, ID: m.SegID, Key: m.Key}, nil
	}
	return window.Location{}, fmt.Errorf("%w: unknown window backing %q", ErrProtocol, m.Backing)
}

// fillWindowMsg asks for the window covering position Start, or, with
// Start < 0, for the window after the last one sent for the query.
type fillWindowMsg struct {
	Req   uint64 `msgpack:"r"`
	Query uint64 `msgpack:"q"`
	Start int64  `msgpack:"s"`
	// Near lets the provider start the window a little before Start, so
	// that a cursor stepping back does not need another window.
	Near bool `msgpack:"a,omitempty"`
}

// releaseMsg tells the server the client no longer holds a window.
type releaseMsg struct {
	Query uint64 `msgpack:"q"`
	Win   uint64 `msgpack:"w"`
}

// closeQueryMsg ends a query and releases its windows.
type closeQueryMsg struct {
	Req   uint64 `msgpack:"r"`
	Query uint64 `msgpack:"q"`
}

// errorMsg answers a request that failed.
type errorMsg struct {
	Req     uint64 `msgpack:"r"`
	Code    string `msgpack:"c"`
	Message string `msgpack:"m"`
	// Window names the window check a consumer's window failed (a bulk
	// insert's): "not_sealed", "too_large", "corrupt", "out_of_range",
	// "type". Empty otherwise.
	Window string `msgpack:"wc,omitempty"`
	// At is the row of a bulk insert, or the operation of a batch, that
	// failed (absent when none in particular did, a failed commit say),
	// and Kept how many rows or operations before it stay applied.
	At   *int64 `msgpack:"at,omitempty"`
	Kept int64  `msgpack:"kp,omitempty"`
}

// okMsg answers a request that succeeded with nothing to say.
type okMsg struct {
	Req uint64 `msgpack:"r"`
}

// registerMsg asks for change notifications on a URI.
type registerMsg struct {
	Req         uint64 `msgpack:"r"`
	URI         string `msgpack:"u"`
	Descendants bool   `msgpack:"d,omitempty"`
}

// unregisterMsg cancels a registerMsg.
type unregisterMsg struct {
	Req uint64 `msgpack:"r"`
	URI string `msgpack:"u"`
}

// notifyMsg tells a registered client that a URI changed.
type notifyMsg struct {
	URI string `msgpack:"u"`
}

// Write operations.
const (
	opInsert = "insert"
	opUpdate = "update"
	opDelete = "delete"
	opCall   = "call"
)

// writeMsg carries Insert, Update, Delete and Call.
type writeMsg struct {
	Req       uint64 `msgpack:"r"`
	Op        string `msgpack:"o"`
	URI       string `msgpack:"u,omitempty"`
	Values    Values `msgpack:"v,omitempty"`
	Selection string `msgpack:"s,omitempty"`
	Args      []any  `msgpack:"a,omitempty"`
	Method    string `msgpack:"m,omitempty"`
	Arg       string `msgpack:"g,omitempty"`
}

// writeReplyMsg answers writeMsg.
type writeReplyMsg struct {
	Req    uint64 `msgpack:"r"`
	Count  int64  `msgpack:"n"`
	Result Values `msgpack:"v,omitempty"`
}

// bulkMsg carries one window of a bulk insert, or, with no descriptor,
// ends one. The first message of a load names it (Bulk == Req) and
// carries its URI and columns; every message is answered: okMsg once the
// provider has read the window (the consumer may then reuse it), and the
// last one with writeReplyMsg, the number of rows inserted.
type bulkMsg struct {
	Req     uint64   `msgpack:"r"`
	Bulk    uint64   `msgpack:"b"`
	URI     string   `msgpack:"u,omitempty"`
	Columns []string `msgpack:"c,omitempty"`
	// Rows is the number of rows of the attached window (0 without one).
	Rows int `msgpack:"k,omitempty"`
	// Last ends the load: its answer is the load's.
	Last bool `msgpack:"e,omitempty"`
	// Abort ends the load without inserting what is not yet committed
	// (with Last, and no window).
	Abort bool `msgpack:"x,omitempty"`
}

// batchMsg asks for several writes applied together or not at all.
type batchMsg struct {
	Req uint64    `msgpack:"r"`
	Ops []batchOp `msgpack:"o"`
}

// batchOp is one write of a batchMsg.
type batchOp struct {
	Op        string `msgpack:"o"`
	URI       string `msgpack:"u"`
	Values    Values `msgpack:"v,omitempty"`
	Selection string `msgpack:"s,omitempty"`
	Args      []any  `msgpack:"a,omitempty"`
	// ValueRefs sets a column of Values to the result of an earlier
	// operation (its index), ArgRefs an element of Args.
	ValueRefs map[string]int `msgpack:"vr,omitempty"`
	ArgRefs   map[int]int    `msgpack:"ar,omitempty"`
}

// batchReplyMsg answers batchMsg: each operation's result (an insert's
// id, an update's or delete's count), in order.
type batchReplyMsg struct {
	Req     uint64  `msgpack:"r"`
	Results []int64 `msgpack:"n"`
}

func (*helloMsg) ParcelType() uint16      { return codeHello }
func (*helloReplyMsg) ParcelType() uint16 { return codeHelloReply }
func (*queryMsg) ParcelType() uint16      { return codeQuery }
func (*windowMsg) ParcelType() uint16     { return codeWindow }
func (*fillWindowMsg) ParcelType() uint16 { return codeFillWindow }
func (*releaseMsg) ParcelType() uint16    { return codeRelease }
func (*closeQueryMsg) ParcelType() uint16 { return codeCloseQuery }
func (*errorMsg) ParcelType() uint16      { return codeError }
func (*okMsg) ParcelType() uint16         { return codeOK }
func (*registerMsg) ParcelType() uint16   { return codeRegister }
func (*unregisterMsg) ParcelType() uint16 { return codeUnregister }
func (*notifyMsg) ParcelType() uint16     { return codeNotify }
func (*writeMsg) ParcelType() uint16      { return codeWrite }
func (*writeReplyMsg) ParcelType() uint16 { return codeWriteReply }
func (*bulkMsg) ParcelType() uint16       { return codeBulk }
func (*batchMsg) ParcelType() uint16      { return codeBatch }
func (*batchReplyMsg) ParcelType() uint16 { return codeBatchReply }

// registry decodes every message of the protocol.
var registry = func() *parcel.Registry {
	r := parcel.NewRegistry()
	r.Register(codeHello, func() parcel.Message { return new(helloMsg) })
	r.Register(codeHelloReply, func() parcel.Message { return new(helloReplyMsg) })
	r.Register(codeQuery, func() parcel.Message { return new(queryMsg) })
	r.Register(codeWindow, func() parcel.Message { return new(windowMsg) })
	r.Register(codeFillWindow, func() parcel.Message { return new(fillWindowMsg) })
	r.Register(codeRelease, func() parcel.Message { return new(releaseMsg) })
	r.Register(codeCloseQuery, func() parcel.Message { return new(closeQueryMsg) })
	r.Register(codeError, func() parcel.Message { return new(errorMsg) })
	r.Register(codeOK, func() parcel.Message { return new(okMsg) })
	r.Register(codeRegister, func() parcel.Message { return new(registerMsg) })
	r.Register(codeUnregister, func() parcel.Message { return new(unregisterMsg) })
	r.Register(codeNotify, func() parcel.Message { return new(notifyMsg) })
	r.Register(codeWrite, func() parcel.Message { return new(writeMsg) })
	r.Register(codeWriteReply, func() parcel.Message { return new(writeReplyMsg) })
	r.Register(codeBulk, func() parcel.Message { return new(bulkMsg) })
	r.Register(codeBatch, func() parcel.Message { return new(batchMsg) })
	r.Register(codeBatchReply, func() parcel.Message { return new(batchReplyMsg) })
	return r
}()

// reqID returns the request id a client-bound reply answers, or 0.
func reqID(m parcel.Message) uint64 {
	switch m := m.(type) {
	case *helloReplyMsg:
		return 1
	case *windowMsg:
		return m.Req
	case *errorMsg:
		return m.Req
	case *okMsg:
		return m.Req
	case *writeReplyMsg:
		return m.Req
	case *batchReplyMsg:
		return m.Req
	}
	return 0
}
