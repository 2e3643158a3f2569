package gateway

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"google.golang.org/grpc"
)

// A record batch over the provider's windows (cwarrow's, without a copy)
// holds one of them until it is released. arrow-go's Flight SQL server
// releases each batch it writes, and drains the channel when its handler
// returns, but not the batch it failed to write: that one would keep a
// window of a pooled provider connection for good. So every DoGet handler runs
// under trackDoGet, which tells the stream's goroutine when the handler
// has returned, and every batch goes out counted (sentBatch): once the
// handler has returned nobody else can hold a batch, and the goroutine
// releases whatever the server did not.

const doGetMethod = "/arrow.flight.protocol.FlightService/DoGet"

// handlerDone is the key of the channel closed when a DoGet handler
// returns, in the context its stream carries.
type handlerDone struct{}

// trackDoGet is the gRPC stream interceptor that runs a DoGet handler
// with a context saying when it has returned.
func trackDoGet(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if info.FullMethod != doGetMethod {
		return next(srv, ss)
	}
	done := make(chan struct{})
	defer close(done)
	return next(srv, &doGetStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), handlerDone{}, (<-chan struct{})(done))})
}

type doGetStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *doGetStream) Context() context.Context { return s.ctx }

// doneOf returns the channel closed when the DoGet handler serving ctx
// returns, or nil when ctx does not come from trackDoGet (a Gateway
// served by a caller's gRPC server): its batches are then copied.
func doneOf(ctx context.Context) <-chan struct{} {
	done, _ := ctx.Value(handlerDone{}).(<-chan struct{})
	return done
}

// sentBatch is a batch handed to the Flight server, with references of
// its own: the last Release, the server's or forceRelease's, releases
// the batch once.
type sentBatch struct {
	arrow.RecordBatch
	refs atomic.Int64
	once sync.Once
}

func newSentBatch(rec arrow.RecordBatch) *sentBatch {
	b := &sentBatch{RecordBatch: rec}
	b.refs.Store(1)
	return b
}

func (b *sentBatch) Retain() { b.refs.Add(1) }

func (b *sentBatch) Release() {
	if b.refs.Add(-1) == 0 {
		b.forceRelease()
	}
}

// forceRelease releases the batch whoever holds references still: only
// once the handler that was given it has returned.
func (b *sentBatch) forceRelease() { b.once.Do(b.RecordBatch.Release) }

// released reports whether the batch was released.
func (b *sentBatch) released() bool { return b.refs.Load() <= 0 }
