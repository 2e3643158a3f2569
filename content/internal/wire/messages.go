package wire

import (
	"fmt"

	"github.com/cursorwindow/cursorwindow/parcel"
	"github.com/cursorwindow/cursorwindow/window"
)

// Version is the version of the content protocol spoken in the
// handshake. docs/PROTOCOL.md describes every message. Version 2's
// windows are window format 2 (docs/FORMAT.md); version 1 carried
// format 1, which this package no longer reads.
const Version = 2

// Message type codes on the wire.
const (
	CodeHello uint16 = iota + 1
	CodeHelloReply
	CodeQuery
	CodeWindow
	CodeFillWindow
	CodeRelease
	CodeCloseQuery
	CodeError
	CodeOK
	CodeRegister
	CodeUnregister
	CodeNotify
	CodeWrite
	CodeWriteReply
	CodeBulk
	CodeBatch
	CodeBatchReply
)

// ProviderOnly reports the messages only a provider sends: a consumer
// that sends one ends its connection, whether or not its body decodes.
func ProviderOnly(code uint16) bool {
	switch code {
	case CodeHelloReply, CodeWindow, CodeError, CodeOK, CodeNotify, CodeWriteReply, CodeBatchReply:
		return true
	}
	return false
}

// HelloMsg opens a session: the client's protocol version.
type HelloMsg struct {
	Version int `msgpack:"v"`
}

// HelloReplyMsg answers HelloMsg with the server's version and limits.
type HelloReplyMsg struct {
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

// QueryMsg asks for a query's first window.
type QueryMsg struct {
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

// WindowMsg carries a window: inline bytes or an attached sealed memfd.
// It answers QueryMsg (with the columns) and FillWindowMsg.
type WindowMsg struct {
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

// SetLocation announces a window of a named backing by its location.
func (m *WindowMsg) SetLocation(l window.Location) {
	switch l.Kind {
	case window.KindShm:
		m.Backing, m.Name = "shm", l.Name
	case window.KindSysV:
		m.Backing, m.SegID, m.Key = "sysv", l.ID, l.Key
	}
}

// Location returns the location a window announced by name or key is at.
func (m *WindowMsg) Location() (window.Location, error) {
	switch m.Backing {
	case "shm":
		return window.Location{Kind: window.KindShm, Name: m.Name}, nil
	case "sysv":
		return window.Location{Kind: window.KindSysV, ID: m.SegID, Key: m.Key}, nil
	}
	return window.Location{}, fmt.Errorf("%w: unknown window backing %q", ErrProtocol, m.Backing)
}

// FillWindowMsg asks for the window covering position Start, or, with
// Start < 0, for the window after the last one sent for the query.
type FillWindowMsg struct {
	Req   uint64 `msgpack:"r"`
	Query uint64 `msgpack:"q"`
	Start int64  `msgpack:"s"`
	// Near lets the provider start the window a little before Start, so
	// that a cursor stepping back does not need another window.
	Near bool `msgpack:"a,omitempty"`
}

// ReleaseMsg tells the server the client no longer holds a window.
type ReleaseMsg struct {
	Query uint64 `msgpack:"q"`
	Win   uint64 `msgpack:"w"`
}

// CloseQueryMsg ends a query and releases its windows.
type CloseQueryMsg struct {
	Req   uint64 `msgpack:"r"`
	Query uint64 `msgpack:"q"`
}

// ErrorMsg answers a request that failed.
type ErrorMsg struct {
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

// OKMsg answers a request that succeeded with nothing to say.
type OKMsg struct {
	Req uint64 `msgpack:"r"`
}

// RegisterMsg asks for change notifications on a URI.
type RegisterMsg struct {
	Req         uint64 `msgpack:"r"`
	URI         string `msgpack:"u"`
	Descendants bool   `msgpack:"d,omitempty"`
}

// UnregisterMsg cancels a RegisterMsg.
type UnregisterMsg struct {
	Req uint64 `msgpack:"r"`
	URI string `msgpack:"u"`
}

// NotifyMsg tells a registered client that a URI changed.
type NotifyMsg struct {
	URI string `msgpack:"u"`
}

// Write operations: the op of a WriteMsg or a BatchOp.
const (
	WriteInsert = "insert"
	WriteUpdate = "update"
	WriteDelete = "delete"
	WriteCall   = "call"
)

// WriteMsg carries Insert, Update, Delete and Call.
type WriteMsg struct {
	Req       uint64         `msgpack:"r"`
	Op        string         `msgpack:"o"`
	URI       string         `msgpack:"u,omitempty"`
	Values    map[string]any `msgpack:"v,omitempty"`
	Selection string         `msgpack:"s,omitempty"`
	Args      []any          `msgpack:"a,omitempty"`
	Method    string         `msgpack:"m,omitempty"`
	Arg       string         `msgpack:"g,omitempty"`
}

// WriteReplyMsg answers WriteMsg.
type WriteReplyMsg struct {
	Req    uint64         `msgpack:"r"`
	Count  int64          `msgpack:"n"`
	Result map[string]any `msgpack:"v,omitempty"`
}

// BulkMsg carries one window of a bulk insert, or, with no descriptor,
// ends one. The first message of a load names it (Bulk == Req) and
// carries its URI and columns; every message is answered: OKMsg once the
// provider has read the window (the consumer may then reuse it), and the
// last one with WriteReplyMsg, the number of rows inserted.
type BulkMsg struct {
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

// BatchMsg asks for several writes applied together or not at all.
type BatchMsg struct {
	Req uint64    `msgpack:"r"`
	Ops []BatchOp `msgpack:"o"`
}

// BatchOp is one write of a BatchMsg.
type BatchOp struct {
	Op        string         `msgpack:"o"`
	URI       string         `msgpack:"u"`
	Values    map[string]any `msgpack:"v,omitempty"`
	Selection string         `msgpack:"s,omitempty"`
	Args      []any          `msgpack:"a,omitempty"`
	// ValueRefs sets a column of Values to the result of an earlier
	// operation (its index), ArgRefs an element of Args.
	ValueRefs map[string]int `msgpack:"vr,omitempty"`
	ArgRefs   map[int]int    `msgpack:"ar,omitempty"`
}

// BatchReplyMsg answers BatchMsg: each operation's result (an insert's
// id, an update's or delete's count), in order.
type BatchReplyMsg struct {
	Req     uint64  `msgpack:"r"`
	Results []int64 `msgpack:"n"`
}

// ParcelType returns HelloMsg's type code.
func (*HelloMsg) ParcelType() uint16 { return CodeHello }

// ParcelType returns HelloReplyMsg's type code.
func (*HelloReplyMsg) ParcelType() uint16 { return CodeHelloReply }

// ParcelType returns QueryMsg's type code.
func (*QueryMsg) ParcelType() uint16 { return CodeQuery }

// ParcelType returns WindowMsg's type code.
func (*WindowMsg) ParcelType() uint16 { return CodeWindow }

// ParcelType returns FillWindowMsg's type code.
func (*FillWindowMsg) ParcelType() uint16 { return CodeFillWindow }

// ParcelType returns ReleaseMsg's type code.
func (*ReleaseMsg) ParcelType() uint16 { return CodeRelease }

// ParcelType returns CloseQueryMsg's type code.
func (*CloseQueryMsg) ParcelType() uint16 { return CodeCloseQuery }

// ParcelType returns ErrorMsg's type code.
func (*ErrorMsg) ParcelType() uint16 { return CodeError }

// ParcelType returns OKMsg's type code.
func (*OKMsg) ParcelType() uint16 { return CodeOK }

// ParcelType returns RegisterMsg's type code.
func (*RegisterMsg) ParcelType() uint16 { return CodeRegister }

// ParcelType returns UnregisterMsg's type code.
func (*UnregisterMsg) ParcelType() uint16 { return CodeUnregister }

// ParcelType returns NotifyMsg's type code.
func (*NotifyMsg) ParcelType() uint16 { return CodeNotify }

// ParcelType returns WriteMsg's type code.
func (*WriteMsg) ParcelType() uint16 { return CodeWrite }

// ParcelType returns WriteReplyMsg's type code.
func (*WriteReplyMsg) ParcelType() uint16 { return CodeWriteReply }

// ParcelType returns BulkMsg's type code.
func (*BulkMsg) ParcelType() uint16 { return CodeBulk }

// ParcelType returns BatchMsg's type code.
func (*BatchMsg) ParcelType() uint16 { return CodeBatch }

// ParcelType returns BatchReplyMsg's type code.
func (*BatchReplyMsg) ParcelType() uint16 { return CodeBatchReply }

// Registry decodes every message of the protocol.
var Registry = func() *parcel.Registry {
	r := parcel.NewRegistry()
	r.Register(CodeHello, func() parcel.Message { return new(HelloMsg) })
	r.Register(CodeHelloReply, func() parcel.Message { return new(HelloReplyMsg) })
	r.Register(CodeQuery, func() parcel.Message { return new(QueryMsg) })
	r.Register(CodeWindow, func() parcel.Message { return new(WindowMsg) })
	r.Register(CodeFillWindow, func() parcel.Message { return new(FillWindowMsg) })
	r.Register(CodeRelease, func() parcel.Message { return new(ReleaseMsg) })
	r.Register(CodeCloseQuery, func() parcel.Message { return new(CloseQueryMsg) })
	r.Register(CodeError, func() parcel.Message { return new(ErrorMsg) })
	r.Register(CodeOK, func() parcel.Message { return new(OKMsg) })
	r.Register(CodeRegister, func() parcel.Message { return new(RegisterMsg) })
	r.Register(CodeUnregister, func() parcel.Message { return new(UnregisterMsg) })
	r.Register(CodeNotify, func() parcel.Message { return new(NotifyMsg) })
	r.Register(CodeWrite, func() parcel.Message { return new(WriteMsg) })
	r.Register(CodeWriteReply, func() parcel.Message { return new(WriteReplyMsg) })
	r.Register(CodeBulk, func() parcel.Message { return new(BulkMsg) })
	r.Register(CodeBatch, func() parcel.Message { return new(BatchMsg) })
	r.Register(CodeBatchReply, func() parcel.Message { return new(BatchReplyMsg) })
	return r
}()

// ReqID returns the request id a client-bound reply answers, or 0.
func ReqID(m parcel.Message) uint64 {
	switch m := m.(type) {
	case *HelloReplyMsg:
		return 1
	case *WindowMsg:
		return m.Req
	case *ErrorMsg:
		return m.Req
	case *OKMsg:
		return m.Req
	case *WriteReplyMsg:
		return m.Req
	case *BatchReplyMsg:
		return m.Req
	}
	return 0
}
