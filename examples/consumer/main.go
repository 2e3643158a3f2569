// Command consumer reads tables from a cursorwindow provider (such as
// examples/provider): every row is read in place from the shared-memory
// windows the provider fills, with no copy through the socket.
//
// Usage:
//
//	consumer [--socket PATH] [--timeout D] COMMAND [ARGS]
//
// Commands:
//
//	tables                     list the provider's tables and their columns
//	query TABLE [flags]        print rows as an aligned table, CSV or JSON lines
//	scan TABLE [flags]         read every row and print a summary: rows, bytes,
//	                           rows/s and, per number column, min, max and sum
//	watch URI [--count N] [--timeout D]   print a line per change notification of URI
//	insert TABLE COL=VALUE...  insert a row
//	insert TABLE --from FILE [--format csv|jsonl]        insert every row of
//	                           a CSV or JSON lines file (- for standard input)
//	                           in one bulk insert, with a progress bar on a terminal
//	update TABLE COL=VALUE... [--where SEL --arg V...]   update rows
//	delete TABLE [--where SEL --arg V...]                delete rows
//	batch FILE                 apply the writes of a JSON lines file (- for
//	                           standard input) together or not at all
//
// Query and scan flags:
//
//	--columns a,b      the columns to read (default all)
//	--where SEL        a selection with ? placeholders, e.g. 'fare > ? AND city = ?'
//	--arg V            a value for the next placeholder (repeat per placeholder)
//	--order COLS       e.g. 'fare DESC' or 'city, fare'
//	--limit N          at most N rows
//	--format F         table (default), csv, jsonl, arrow or parquet (query);
//	                   arrow or parquet (scan)
//
// --format arrow writes the rows as an Arrow IPC stream on stdout (never
// to a terminal), for DuckDB, Polars, pyarrow or any Arrow reader:
// INT64 as Int64, FLOAT64 as Float64, STRING as String, BLOB as Binary,
// NULL as null, one record batch per window (package cwarrow has the
// rule for columns whose fields change type). scan --format arrow writes
// the same stream, and its summary (rows, batches, rows/s) on stderr.
//
// --format parquet writes the same rows as a Parquet file on stdout
// (never to a terminal), which DuckDB, Polars, Spark and pandas read
// natively (package cwparquet): zstd-compressed row groups of 131,072
// rows written as the rows arrive, a column declared NOT NULL a required
// column, the declared types in the Arrow schema it keeps, and a
// progress bar on stderr when that is a terminal. Its footer comes last:
// if the rows or stdout fail (a closed pipe, a full disk), the command
// says so and exits 1, and what it wrote is no Parquet file. scan
// --format parquet writes the same file, and its summary (rows, row
// groups, bytes, rows/s) on stderr.
//
// insert --from reads CSV with a header line naming the columns (an empty
// field is NULL; a field that parses as an integer or a float is one;
// anything else is text, blobs as exported by query included) or JSON lines,
// one flat object per row, the first one's keys naming the columns (null,
// numbers, an integer when written without a fraction or exponent,
// strings, booleans as 1 and 0). The rows go in shared-memory
// windows, as query results come back; the example provider inserts them
// in one transaction: all of them, or, if one fails, none, and the
// command names the failing row of the input.
//
// batch reads one operation per line:
//
//	{"op": "insert", "uri": "orders", "values": {"customer": "ann"}}
//	{"op": "insert", "uri": "items", "values": {"sku": "A"}, "valueRefs": {"order_id": 0}}
//	{"op": "update", "uri": "orders", "values": {"total": 9.5}, "where": "id = ?", "args": [null], "argRefs": {"0": 0}}
//	{"op": "delete", "uri": "items", "where": "sku = ?", "args": ["B"]}
//
// valueRefs and argRefs take a column (or an argument's index) from the
// result of an earlier operation of the file, by its index from 0: an
// insert's row id, an update's or delete's count. It prints each
// operation's result.
//
// Values given with --arg or COL=VALUE are sent as NULL if they read NULL
// (in any case), as integers or floats if they parse as one, and as text
// otherwise. Blobs are printed in hex, NULL as NULL (table), an empty field
// (CSV) or null (JSON).
//
// The default socket is the provider's (content.DefaultSocketPath):
// $CURSORWINDOW_SOCKET, else $XDG_RUNTIME_DIR/cursorwindow/provider.sock,
// else $TMPDIR/cursorwindow-$UID/provider.sock; when there is no socket
// there, the shared location of a provider serving other uids
// (content.SharedSocketPath): /run/cursorwindow/provider.sock, or
// $CURSORWINDOW_RUNTIME_DIR/provider.sock.
//
// --timeout D (default 30s, 0 for none) bounds the wait for the provider:
// to connect and shake hands, then for each answer. A watch waits for
// notifications as long as it runs: its own --timeout D ends it D after it
// starts, its connection and registration included: successfully once
// registered, with status 124 if the provider had not registered it by
// then.
//
// Table output and every message show control characters, bidirectional
// controls and bytes that are not UTF-8 as escapes (\n, \x1b, \u202e,
// \xff): what the provider sends cannot move the cursor, recolour the
// terminal or forge a line. CSV and JSON lines carry the data exactly,
// quoted as their formats require.
//
// Exit status: 0 on success, 1 on a failed request, 2 on a usage error, 3
// when no provider is listening (or it went away), 4 when the table does not
// exist, 5 when the provider refuses access, 6 when the filesystem does
// (the socket or a directory above it denies this user, or the default
// socket's directory is unsafe), 124 when the provider did not answer
// within --timeout, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/progress"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNoProvider  = 3
	exitNotFound    = 4
	exitPermission  = 5   // the provider refused access
	exitFilesystem  = 6   // the filesystem did
	exitTimedOut    = 124 // as timeout(1)
	exitInterrupted = 130
)

const usage = `usage: consumer [--socket PATH] [--timeout D] COMMAND [ARGS]

Commands:
  tables                      list the provider's tables and their columns
  query TABLE [flags]         print rows (--columns, --where, --arg, --order, --limit,
                              --format table|csv|jsonl|arrow|parquet)
  scan TABLE [flags]          read every row in place and print a summary (--columns, --where, --arg;
                              --format arrow|parquet: the rows as Arrow IPC or a Parquet file on stdout,
                              the summary on stderr)
  watch URI [--count N] [--timeout D]
                              print a line per change notification of URI (for D at most)
  insert TABLE COL=VALUE...   insert a row
  insert TABLE --from FILE [--format csv|jsonl]
                              insert every row of a CSV or JSON lines file (- for stdin) at once
  update TABLE COL=VALUE... [--where SEL --arg V...]
  delete TABLE [--where SEL --arg V...]
  batch FILE                  apply the writes of a JSON lines file (- for stdin), all or none

Global flags:
  --socket PATH   the provider's socket (default: the provider's default)
  --timeout D     how long to wait for the provider to connect and for each
                  answer, e.g. 5s or 1m; 0 waits forever (default 30s; a
                  watch waits for notifications without limit)

Run 'consumer COMMAND --help' for a command's flags.

Exit status: 0 success, 1 failed request, 2 usage error, 3 no provider
listening (or it went away), 4 no such table, 5 the provider refused
access, 6 the filesystem refused access (permissions of the socket or a
directory above it, or an unsafe default socket directory), 124 timed
out, 130 interrupted.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once, whatever the command is doing
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets.
type env struct {
	socket  string
	timeout time.Duration
	wd      *watchdog // ends the command's context after timeout
	stdin   io.Reader // what insert --from - reads
	stdout  io.Writer
	stderr  io.Writer
	tty     bool // stdout is a terminal
}

// stdin is what "-" names for insert --from and batch (a test's input in
// tests).
var stdin io.Reader = os.Stdin

// usageError reports a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{socket: defaultSocket(), timeout: defaultTimeout, stdin: stdin, stdout: stdout, stderr: stderr}
	if f, ok := stdout.(*os.File); ok {
		e.tty = progress.IsTerminal(f)
	}
	// Global flags come before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "socket" && name != "timeout" {
			fmt.Fprintf(stderr, "consumer: unknown flag %s\n\n%s", escapeControls(a), usage)
			return exitUsage
		}
		args = args[1:]
		if !hasVal {
			if len(args) == 0 {
				fmt.Fprintf(stderr, "consumer: --%s needs a value\n\n%s", name, usage)
				return exitUsage
			}
			val, args = args[0], args[1:]
		}
		switch name {
		case "socket":
			e.socket = val
		case "timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				fmt.Fprintf(stderr, "consumer: --timeout wants a duration such as 30s or 2m (0: no limit), got %s\n", strconv.Quote(val))
				return exitUsage
			}
			e.timeout = d
		}
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, *env, []string) error{
		"tables": cmdTables,
		"query":  cmdQuery,
		"scan":   cmdScan,
		"watch":  cmdWatch,
		"insert": cmdInsert,
		"update": cmdUpdate,
		"delete": cmdDelete,
		"batch":  cmdBatch,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "consumer: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	cmdCtx, cancel, wd := newWatchdog(ctx, e.timeout)
	defer cancel()
	e.wd = wd
	e.stdout = &pausingWriter{w: stdout, wd: wd}
	err := cmd(cmdCtx, e, args[1:])
	msg, code := e.explain(ctx, cmdCtx, err)
	if msg != "" {
		fmt.Fprintf(stderr, "consumer: %s\n", escapeControls(msg))
	}
	return code
}

// explain returns what err means for a person (empty if nothing need be
// said) and the exit status. ctx is run's, cmdCtx the command's (which
// the watchdog ends).
func (e *env) explain(ctx, cmdCtx context.Context, err error) (string, int) {
	var ue *usageError
	switch {
	case err == nil:
		return "", exitOK
	case errors.Is(err, flag.ErrHelp):
		return "", exitOK
	case errors.As(err, &ue):
		return ue.msg, exitUsage
	case ctx.Err() != nil:
		return "interrupted", exitInterrupted
	case timedOut(cmdCtx):
		return fmt.Sprintf("timed out after %s waiting for the provider at %s (--timeout)", e.timeout, e.socket), exitTimedOut
	case errors.Is(err, content.ErrUnsafeSocketDir):
		return err.Error(), exitFilesystem
	case errors.Is(err, fs.ErrPermission) && !errors.As(err, new(*content.ProviderError)):
		// EACCES or EPERM from connect or from checking the directory
		return fmt.Sprintf("cannot connect to %s: permission denied by the filesystem: uid %d may not open the socket or search a directory above it "+
			"(the provider did not refuse: it was never reached)", e.socket, os.Geteuid()), exitFilesystem
	case errors.Is(err, content.ErrPermission):
		return fmt.Sprintf("the provider at %s refused access: %s", e.socket, providerMessage(err)), exitPermission
	case errors.Is(err, content.ErrNotFound):
		return providerMessage(err), exitNotFound
	case errors.Is(err, content.ErrNoProvider) && errors.Is(err, syscall.ENOENT):
		return fmt.Sprintf("no provider is listening on %s (no socket there; start one with: provider)", e.socket), exitNoProvider
	case errors.Is(err, content.ErrNoProvider) && errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("no provider is listening on %s (a stale socket, left by a provider that did not stop cleanly: it may be removed; start one with: provider)", e.socket), exitNoProvider
	case errors.Is(err, content.ErrNoProvider):
		return strings.TrimPrefix(err.Error(), "content: "), exitNoProvider
	case errors.Is(err, content.ErrProviderGone):
		return fmt.Sprintf("the provider at %s went away: %v", e.socket, err), exitNoProvider
	}
	return providerMessage(err), exitFailed
}

// providerMessage returns an error's text without the package prefix a
// provider's error carries. A provider that gave no message is described
// by its error code.
func providerMessage(err error) string {
	var ex *explained
	if errors.As(err, &ex) {
		return ex.msg
	}
	var pe *content.ProviderError
	if !errors.As(err, &pe) {
		if msg := err.Error(); msg != "" {
			return msg
		}
		return fmt.Sprintf("an error without a description (%T)", err)
	}
	if msg := strings.TrimPrefix(pe.Message, "content: "); msg != "" {
		return msg
	}
	kind := strings.TrimPrefix(pe.Unwrap().Error(), "content: ") // "not found", "provider error"
	if pe.Code == "" {
		return kind + " (the provider sent neither an error code nor a message)"
	}
	return fmt.Sprintf("%s (the provider sent error code %s without a message)", kind, strconv.Quote(pe.Code))
}

// dial connects to the provider, checking the default socket's directory
// first. The connection and the handshake have --timeout between them;
// so has each request after.
func (e *env) dial(ctx context.Context) (*content.Client, error) {
	if e.socket == content.DefaultSocketPath() || e.socket == content.SharedSocketPath() {
		if err := content.CheckSocketDir(e.socket); err != nil {
			return nil, err
		}
	}
	c, err := content.Dial(ctx, e.socket)
	if err == nil {
		e.wd.kick()
	}
	return c, err
}

// parseFlags parses a command's flags, which may come before, between or
// after its positional arguments; it returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose errors and usage go to e.stderr.
func (e *env) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: consumer %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseValue types a value from the command line: NULL (in any case),
// an integer, a float, or text.
func parseValue(s string) any {
	if strings.EqualFold(s, "null") {
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if s != "" && strings.ContainsRune("+-.0123456789", rune(s[0])) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// argList collects repeated --arg flags.
type argList []any

func (a *argList) String() string { return fmt.Sprint(*a) }
func (a *argList) Set(s string) error {
	*a = append(*a, parseValue(s))
	return nil
}

// defaultSocket is the provider's socket when --socket is not given: the
// private default (a provider of our own uid) if a socket is there, else
// the shared one (a provider serving other uids).
func defaultSocket() string {
	private := content.DefaultSocketPath()
	if _, err := os.Lstat(private); err != nil {
		if _, err := os.Lstat(content.SharedSocketPath()); err == nil {
			return content.SharedSocketPath()
		}
	}
	return private
}
