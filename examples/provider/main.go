// Command provider serves the tables of a SQLite database to consumer
// processes through cursorwindow: query results travel as sealed
// shared-memory windows that every consumer reads in place, the way
// Android's content providers serve SQLite.
//
// With no --db it serves a sample database of taxi trips that it generates
// once into the cache directory ($XDG_CACHE_HOME/cursorwindow, or
// ~/.cache/cursorwindow): --rows trips (1,000,000 by default) and a table of
// cities. SQLite is reached through modernc.org/sqlite, a pure-Go driver:
// no cgo.
//
// Usage:
//
//	provider [flags]
//
// Flags:
//
//	--socket PATH        socket to listen on (default content.DefaultSocketPath:
//	                     $XDG_RUNTIME_DIR/cursorwindow/provider.sock, or
//	                     $TMPDIR/cursorwindow-$UID/provider.sock; serving other uids,
//	                     content.SharedSocketPath: /run/cursorwindow/provider.sock)
//	--db FILE            serve this SQLite database instead of the sample
//	--rows N             trips in the sample database (default 1000000)
//	--read-only          refuse inserts, updates and deletes
//	--window-size BYTES  size of the shared windows (default 2 MiB)
//	--allow-uid UID,...  admit these uids (default: the provider's own uid)
//	--read-only-uid UID,...  admit these uids to query and watch, never to write
//	--allow URI=UID,...  only these uids (and the provider's own) may use URI
//	                     (a table); repeatable
//	--share-windows      share the windows of identical queries (default true;
//	                     turn off if other processes write the database)
//	--snapshot-age D     how long a query may hold its snapshot (default 5m)
//	--log-level LEVEL    debug, info, warn or error (default info)
//	--print-socket       print the socket path and exit
//
// Consumers name a table as the query's URI. Projections, selections and
// orders are checked against the table's real columns and rebuilt from
// them; values are always bound as parameters, never spliced into SQL.
// Selections and orders are parsed by package content/selection: a
// selection is conditions joined by AND and OR, with NOT and
// parentheses; a condition is "column OP ?" (OP one of = != <> < <= > >=
// LIKE, NOT LIKE), "column [NOT] IN (?, ...)", "column [NOT] BETWEEN ?
// AND ?" or "column IS [NOT] NULL". Valid SQL beyond that (functions,
// values written in the text, subqueries) is refused as unsupported,
// naming it. An order is "column [ASC|DESC], ...". Inserts, updates and deletes notify the
// consumers watching the table. Call "tables" lists the tables and Call
// "columns" (arg: a table) their columns.
//
// A query reads one snapshot of the database from its first window to
// its Close: its rows, its count and every move back are read inside one
// read transaction (the database is put in WAL mode, so that the snapshot
// keeps no writer waiting). A snapshot lives at most --snapshot-age; the
// server's query limits (56 in all, 28 per uid) bound how many are open.
// Past its age a snapshot is rolled back: a scan still going on continues
// in a new snapshot if its table has not changed since, and otherwise
// fails with content.ErrChanged ("run the query again").
//
// Consumers running the same query share its sealed windows: one copy in
// memory, and a repeated scan is served from the cache without reading
// SQLite again. Writes made through the provider drop the table's cached
// windows and count as changes; writes made by other processes do not, so
// a database that others write should be served with
// --share-windows=false, and its scans should not outlive --snapshot-age.
//
// The provider logs with log/slog on stderr and stops cleanly on SIGINT or
// SIGTERM: it stops accepting, lets the replies in flight finish, and
// removes its socket. A second signal stops it at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config holds the command line.
type config struct {
	socket       string
	db           string
	rows         int
	readOnly     bool
	windowSize   int64
	allowUIDs    []uint32
	readOnlyUIDs []uint32
	allowURI     map[string][]uint32
	logLevel     slog.Level
	share        bool
	print        bool
	snapshotAge  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.socket, "socket", "", "unix socket to listen on (default: "+content.DefaultSocketPath()+
		";\nserving other uids: "+content.SharedSocketPath()+")")
	fs.StringVar(&cfg.db, "db", "", "SQLite database to serve (default: the generated sample database)")
	fs.IntVar(&cfg.rows, "rows", 1_000_000, "trips in the sample database")
	fs.BoolVar(&cfg.readOnly, "read-only", false, "refuse inserts, updates and deletes")
	fs.Int64Var(&cfg.windowSize, "window-size", provider.DefaultWindowSize, "size of the shared windows in bytes")
	fs.Func("allow-uid", "admit these uids, comma-separated (default: the provider's own uid)", func(s string) error {
		return parseUIDs(s, &cfg.allowUIDs)
	})
	fs.Func("read-only-uid", "admit these uids to query and watch but never to write, comma-separated", func(s string) error {
		return parseUIDs(s, &cfg.readOnlyUIDs)
	})
	cfg.allowURI = map[string][]uint32{}
	fs.Func("allow", "URI=UID,...: only these uids (and the provider's own) may use URI; repeatable", func(s string) error {
		uri, uids, ok := strings.Cut(s, "=")
		if !ok || uri == "" {
			return fmt.Errorf("want URI=UID,..., not %q", s)
		}
		var list []uint32
		if err := parseUIDs(uids, &list); err != nil {
			return err
		}
		cfg.allowURI[uri] = append(cfg.allowURI[uri], list...)
		return nil
	})
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.BoolVar(&cfg.share, "share-windows", true, "share the windows of identical queries between consumers and keep them cached until a write;\nturn off if other processes write the database")
	fs.BoolVar(&cfg.print, "print-socket", false, "print the socket path and exit")
	fs.DurationVar(&cfg.snapshotAge, "snapshot-age", defaultSnapshotAge, "how long a query may hold its read transaction (its snapshot of the database);\npast it, a scan goes on in a new one if its table is unchanged, and fails with \"changed\" if not")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: provider [flags]\n\nServes the tables of a SQLite database (by default a generated sample) to cursorwindow consumers.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.snapshotAge <= 0 {
		return nil, fmt.Errorf("--snapshot-age %v: want a positive duration", cfg.snapshotAge)
	}
	if cfg.windowSize < 4096 {
		return nil, fmt.Errorf("--window-size %d: want at least 4096", cfg.windowSize)
	}
	if cfg.socket == "" {
		cfg.socket = content.DefaultSocketPath()
		if cfg.servesOthers() {
			cfg.socket = content.SharedSocketPath()
		}
	}
	return cfg, nil
}

// parseUIDs appends the comma-separated uids of s to dst.
func parseUIDs(s string, dst *[]uint32) error {
	for f := range strings.SplitSeq(s, ",") {
		u, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return fmt.Errorf("bad uid %q", f)
		}
		*dst = append(*dst, uint32(u))
	}
	return nil
}

// admitted returns every uid the flags admit: those of --allow-uid (by
// default the provider's own), --read-only-uid and --allow.
func (cfg *config) admitted() []uint32 {
	uids := []uint32{uint32(os.Geteuid())}
	if len(cfg.allowUIDs) > 0 {
		uids = slices.Clone(cfg.allowUIDs)
	}
	uids = append(uids, cfg.readOnlyUIDs...)
	for _, list := range cfg.allowURI {
		uids = append(uids, list...)
	}
	slices.Sort(uids)
	return slices.Compact(uids)
}

// servesOthers reports whether a uid other than the provider's own is
// admitted.
func (cfg *config) servesOthers() bool {
	return slices.ContainsFunc(cfg.admitted(), func(u uint32) bool { return int(u) != os.Geteuid() })
}

// permission is the per-request check the flags ask for: --read-only-uid
// uids never write, and a URI given with --allow is used only by its uids
// and the provider's own.
func (cfg *config) permission() provider.Permission {
	own := uint32(os.Geteuid())
	return func(cred fdpass.Cred, op content.Op, uri string) error {
		if cred.UID == own {
			return nil
		}
		table, _, _ := strings.Cut(uri, "/")
		if list, ok := cfg.allowURI[table]; ok && op != content.OpCall && !slices.Contains(list, cred.UID) {
			return fmt.Errorf("%s is not shared with uid %d", table, cred.UID)
		}
		switch op {
		case content.OpInsert, content.OpUpdate, content.OpDelete:
			if slices.Contains(cfg.readOnlyUIDs, cred.UID) {
				return fmt.Errorf("uid %d has read-only access", cred.UID)
			}
		}
		return nil
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "provider:", err)
		return 2
	}
	if cfg.print {
		fmt.Fprintln(stdout, cfg.socket)
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	if err := serve(cfg, log); err != nil {
		log.Error("provider failed", "err", err)
		return 1
	}
	return 0
}

func serve(cfg *config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
		log.Info("shutting down: finishing replies in flight")
	}()

	if err := content.CheckSocketDir(cfg.socket); err != nil {
		return err
	}
	path := cfg.db
	if path == "" {
		var err error
		if path, err = ensureSample(ctx, cfg.rows, log); err != nil {
			return err
		}
	}
	p, err := openSQLite(ctx, path, cfg.readOnly, log)
	if err != nil {
		return err
	}
	defer p.Close()

	p.perm = cfg.permission()
	p.snapshotAge = cfg.snapshotAge
	auth := provider.AllowUIDs(cfg.admitted()...)
	mode := os.FileMode(0o600)
	if cfg.servesOthers() {
		// Other users are admitted by their credentials: the socket must
		// let them connect (Listen makes its directory traversable).
		mode = 0o666
	}
	ln, err := provider.Listen(cfg.socket, mode)
	if err != nil {
		return err
	}
	srv := provider.NewServer(p,
		provider.WithAuthorizer(auth),
		provider.WithPermission(p.perm),
		provider.WithLimits(provider.Limits{Queries: maxQueries, UIDQueries: maxUIDQueries}),
		provider.WithWindowSize(cfg.windowSize),
		provider.WithSharedWindows(cfg.share),
		provider.WithLogger(log))
	attrs := []any{"socket", cfg.socket, "db", path, "tables", strings.Join(p.names, ","), "pid", os.Getpid()}
	if cfg.servesOthers() {
		attrs = append(attrs, "admitted_uids", fmt.Sprint(cfg.admitted()))
	}
	if cfg.readOnly {
		attrs = append(attrs, "read_only", true)
	}
	if !cfg.share {
		attrs = append(attrs, "share_windows", false)
	}
	log.Info("serving", attrs...)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped", "socket_removed", cfg.socket)
	return nil
}
