package sqldriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// DriverName is the name the driver is registered under with
// database/sql.
const DriverName = "cursorwindow"

func init() { sql.Register(DriverName, Driver{}) }

// Driver is the database/sql driver, registered as "cursorwindow". Its
// data source name is described in the package documentation.
type Driver struct{}

var (
	_ driver.Driver        = Driver{}
	_ driver.DriverContext = Driver{}
	_ driver.Connector     = (*Connector)(nil)
)

// Open connects to the provider dsn names. database/sql calls
// OpenConnector instead; Open is for callers of the driver.Driver
// interface.
func (d Driver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses dsn into a Connector.
func (Driver) OpenConnector(dsn string) (driver.Connector, error) {
	return ParseDSN(dsn)
}

// Connector connects to one provider: give it to sql.OpenDB. Each
// connection of the database/sql pool is one content.Client.
type Connector struct {
	socket string
	cfg    config
	stmts  stmtCache
}

type config struct {
	timeout   time.Duration
	dialOpts  []content.DialOption
	queryOpts []content.QueryOption
}

// Option configures a Connector.
type Option func(*config)

// DefaultTimeout bounds connecting to the provider (dial and handshake)
// unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// WithTimeout bounds connecting to the provider, the dial and the
// handshake, on top of the context database/sql connects with (default
// DefaultTimeout; 0: only the context). Queries and writes are bounded by
// their own contexts: use QueryContext and ExecContext with a deadline.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = max(d, 0) } }

// WithPrefetch sets how many windows ahead a scan asks the provider for
// while it reads the current one (content.WithPrefetch; default 2, 0
// turns the pipeline off).
func WithPrefetch(n int) Option {
	return func(c *config) { c.queryOpts = append(c.queryOpts, content.WithPrefetch(n)) }
}

// WithCheckedViews makes a view kept past its lifetime fault instead of
// reading whatever the provider later put in its window
// (content.WithCheckedViews): for debugging code that scans into
// sql.RawBytes.
func WithCheckedViews() Option {
	return func(c *config) { c.dialOpts = append(c.dialOpts, content.WithCheckedViews()) }
}

// WithDialOptions passes options to content.Dial for every connection.
func WithDialOptions(opts ...content.DialOption) Option {
	return func(c *config) { c.dialOpts = append(c.dialOpts, opts...) }
}

// WithQueryOptions passes options to every content.Client.Query.
func WithQueryOptions(opts ...content.QueryOption) Option {
	return func(c *config) { c.queryOpts = append(c.queryOpts, opts...) }
}

// defaultPrefetch is the driver's WithPrefetch default: 2, where the
// library's is 1. database/sql gives every open Rows a connection of its
// own, so the windows a scan asks for ahead take no other cursor's share
// of the provider's per-connection window limit; asking two ahead
// measured up to a third faster (docs/PERFORMANCE.md, "Prefetch").
const defaultPrefetch = 2

// NewConnector returns a Connector for the provider listening at socket:
// a filesystem path, "@name" for an abstract socket, or "" for
// content.DefaultSocketPath (whose directory is checked with
// content.CheckSocketDir before connecting).
func NewConnector(socket string, opts ...Option) *Connector {
	c := &Connector{socket: socket, cfg: config{timeout: DefaultTimeout,
		queryOpts: []content.QueryOption{content.WithPrefetch(defaultPrefetch)}}}
	for _, o := range opts {
		o(&c.cfg)
	}
	return c
}

// ParseDSN parses a data source name (see the package documentation)
// into a Connector.
func ParseDSN(dsn string) (*Connector, error) {
	socket, query, _ := strings.Cut(dsn, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("sqldriver: DSN %q: %w", dsn, err)
	}
	var opts []Option
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vs := params[k]
		if len(vs) != 1 {
			return nil, fmt.Errorf("sqldriver: DSN %q: %s given %d times", dsn, k, len(vs))
		}
		v := vs[0]
		switch k {
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("sqldriver: DSN %q: timeout=%s: want a duration such as 5s, or 0 for none", dsn, v)
			}
			opts = append(opts, WithTimeout(d))
		case "prefetch":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("sqldriver: DSN %q: prefetch=%s: want a number of windows, 0 or more", dsn, v)
			}
			opts = append(opts, WithPrefetch(n))
		case "checked_views":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("sqldriver: DSN %q: checked_views=%s: want true or false", dsn, v)
			}
			if on {
				opts = append(opts, WithCheckedViews())
			}
		default:
			return nil, fmt.Errorf("sqldriver: DSN %q: unknown parameter %q (have timeout, prefetch, checked_views)", dsn, k)
		}
	}
	return NewConnector(socket, opts...), nil
}

// Socket returns the socket the connector dials ("" for the default).
func (c *Connector) Socket() string { return c.socket }

// Driver returns the driver.
func (c *Connector) Driver() driver.Driver { return Driver{} }

// Connect dials the provider and performs the handshake: one
// content.Client, which the returned connection owns.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	socket := c.socket
	if socket == "" {
		socket = content.DefaultSocketPath()
		if err := content.CheckSocketDir(socket); err != nil {
			return nil, err
		}
	}
	if c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	cl, err := content.Dial(ctx, socket, c.cfg.dialOpts...)
	if err != nil {
		return nil, err
	}
	return &conn{c: cl, cfg: &c.cfg, stmts: &c.stmts}, nil
}

// stmtCache keeps the statements its connector's connections parsed, by
// their text, so that a query run again is not parsed again: a map
// lookup instead of a tokenizer's allocations. Statements are never
// changed once parsed.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sqlparse.Statement
}

// stmtCacheSize bounds the cache; a full cache starts over.
const stmtCacheSize = 512

func (c *stmtCache) parse(query string) (*sqlparse.Statement, error) {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := sqlparse.Parse(query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= stmtCacheSize {
		c.m = make(map[string]*sqlparse.Statement)
	}
	c.m[query] = st
	c.mu.Unlock()
	return st, nil
}
