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
)

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
	}
	return 0
}
