package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
)

// Dialer connects to the provider; the gateway calls it whenever it
// needs a connection it does not have (the first request, more
// concurrent requests than idle connections, after the provider went
// away).
type Dialer func(ctx context.Context) (*content.Client, error)

// SocketDialer dials the provider's unix socket at path with opts.
func SocketDialer(path string, opts ...content.DialOption) Dialer {
	return func(ctx context.Context) (*content.Client, error) { return content.Dial(ctx, path, opts...) }
}

// Defaults of the options.
const (
	// DefaultBatchBytes keeps every record batch, and so every Flight
	// message, below gRPC's default limit on a message a client receives
	// (4 MiB), which the Go Flight SQL client and its database/sql driver
	// keep.
	DefaultBatchBytes = 3 << 20
	// DefaultMaxIdle is how many provider connections the gateway keeps
	// open between requests.
	DefaultMaxIdle = 8
)

// Option configures a Gateway.
type Option func(*config)

type config struct {
	tls        *tls.Config
	token      string
	readOnly   bool
	batchRows  int
	batchBytes int64
	maxIdle    int
	log        *slog.Logger
	mem        memory.Allocator
	version    string
	paramTypes bool
}

// WithParameterTypes has prepared statements declare their parameters'
// types (ADBC's GetParameterSchema), from the columns they set or are
// compared with. Off by default: arrow-go's database/sql driver then
// builds its parameters strictly to those types, refusing a Go int for a
// REAL column that it otherwise sends as an integer (SQLite's columns take
// either); turn it on for clients that ask for the schema.
func WithParameterTypes(on bool) Option { return func(c *config) { c.paramTypes = on } }

// WithTLS serves TLS with cfg (its Certificates, and ClientAuth with
// ClientCAs for mutual TLS). Serving on an address other than loopback
// requires it.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithToken requires every call to carry the header "authorization:
// Bearer " + token; a call without it, or with another token, fails with
// codes.Unauthenticated. Serving on an address other than loopback
// requires a token or mutual TLS.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithReadOnly refuses writes (codes.PermissionDenied) before they reach
// the provider, and says so in SqlInfo.
func WithReadOnly() Option { return func(c *config) { c.readOnly = true } }

// WithBatchRows sets the most rows of a record batch (default
// cwarrow.DefaultBatchRows).
func WithBatchRows(n int) Option { return func(c *config) { c.batchRows = max(n, 1) } }

// WithBatchBytes sets the most bytes of values of a record batch
// (default DefaultBatchBytes): keep it below what the clients accept in
// one message.
func WithBatchBytes(n int64) Option { return func(c *config) { c.batchBytes = max(n, 1) } }

// WithMaxIdle sets how many provider connections are kept between
// requests (default DefaultMaxIdle).
func WithMaxIdle(n int) Option { return func(c *config) { c.maxIdle = max(n, 0) } }

// WithLogger sets the logger of refused calls and failed streams
// (default: none).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithAllocator sets the allocator of the record batches (default
// memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// WithVersion sets the server version SqlInfo reports.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// Gateway serves a provider's tables over Flight SQL. It implements
// flightsql.Server; Serve runs it on a listener with the options'
// security.
type Gateway struct {
	flightsql.BaseServer
	cfg  config
	pool *pool
}

var _ flightsql.Server = (*Gateway)(nil)

// New returns a gateway to the provider that dial connects to.
func New(dial Dialer, opts ...Option) *Gateway {
	cfg := config{
		batchRows: cwarrow.DefaultBatchRows, batchBytes: DefaultBatchBytes, maxIdle: DefaultMaxIdle,
		log: slog.New(slog.DiscardHandler), mem: memory.DefaultAllocator, version: "devel",
	}
	for _, o := range opts {
		o(&cfg)
	}
	g := &Gateway{cfg: cfg, pool: &pool{dial: dial, maxIdle: cfg.maxIdle}}
	g.Alloc = cfg.mem
	g.registerSqlInfo()
	return g
}

// Serve serves Flight SQL on ln until ctx is done, then stops (streams
// in flight are cancelled, which closes their cursors) and returns nil.
// On an address other than loopback it refuses to start, with an error
// matching ErrInsecure, unless the gateway has TLS and a token or
// mutual TLS.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	if err := g.checkExposure(ln.Addr()); err != nil {
		return err
	}
	opts := []grpc.ServerOption{grpc.ChainStreamInterceptor(trackDoGet)}
	if g.cfg.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(g.cfg.tls)))
	}
	if g.cfg.token != "" {
		a := &bearer{token: g.cfg.token, log: g.cfg.log}
		opts = append(opts, grpc.ChainUnaryInterceptor(a.unary), grpc.ChainStreamInterceptor(a.stream))
	}
	gs := grpc.NewServer(opts...)
	flight.RegisterFlightServiceServer(gs, flightsql.NewFlightServerWithAllocator(g, g.cfg.mem))
	stop := context.AfterFunc(ctx, gs.Stop)
	defer stop()
	err := gs.Serve(ln)
	if ctx.Err() != nil || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Close closes the gateway's idle provider connections; connections in
// use close when their requests end.
func (g *Gateway) Close() error {
	g.pool.close()
	return nil
}

// checkExposure refuses to serve beyond loopback without TLS and a
// token or client certificates.
func (g *Gateway) checkExposure(addr net.Addr) error {
	if local(addr) {
		return nil
	}
	mtls := g.cfg.tls != nil && g.cfg.tls.ClientAuth == tls.RequireAndVerifyClientCert
	switch {
	case g.cfg.tls == nil:
		return fmt.Errorf("%w: %s is not a loopback address: serving there needs TLS (a certificate and key)", ErrInsecure, addr)
	case g.cfg.token == "" && !mtls:
		return fmt.Errorf("%w: %s is not a loopback address: serving there needs a bearer token or client certificates (mutual TLS)", ErrInsecure, addr)
	}
	return nil
}

// local reports an address only this host reaches: loopback TCP, or a
// unix socket.
func local(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}
