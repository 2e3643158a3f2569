// Command consumer reads tables from a cursorwindow provider (such as
// examples/provider): every row is read in place from the shared-memory
// windows the provider fills, with no copy through the socket.
//
// Usage:
//
//	consumer [--socket PATH] COMMAND [ARGS]
//
// Commands:
//
//	tables                     list the provider's tables and their columns
//	query TABLE [flags]        print rows as an aligned table, CSV or JSON lines
//	scan TABLE [flags]         read every row and print a summary: rows, bytes,
//	                           rows/s and, per number column, min, max and sum
//	watch URI [--count N]      print a line per change notification of URI
//	insert TABLE COL=VALUE...  insert a row
//	update TABLE COL=VALUE... [--where SEL --arg V...]   update rows
//	delete TABLE [--where SEL --arg V...]                delete rows
//
// Query and scan flags:
//
//	--columns a,b      the columns to read (default all)
//	--where SEL        a selection with ? placeholders, e.g. 'fare > ? AND city = ?'
//	--arg V            a value for the next placeholder (repeat per placeholder)
//	--order COLS       e.g. 'fare DESC' or 'city, fare'
//	--limit N          at most N rows
//	--format F         table (default), csv or jsonl (query only)
//
// Values given with --arg or COL=VALUE are sent as NULL if they read NULL
// (in any case), as integers or floats if they parse as one, and as text
// otherwise. Blobs are printed in hex, NULL as NULL (table), an empty field
// (CSV) or null (JSON).
//
// The default socket is the provider's: $XDG_RUNTIME_DIR/cursorwindow/provider.sock,
// or $TMPDIR/cursorwindow-$UID/provider.sock.
//
// Exit status: 0 on success, 1 on a failed request, 2 on a usage error, 3
// when no provider is listening (or it went away), 4 when the table does not
// exist, 5 when the provider refuses access, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/examples/internal/sockpath"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNoProvider  = 3
	exitNotFound    = 4
	exitPermission  = 5
	exitInterrupted = 130
)

const usage = `usage: consumer [--socket PATH] COMMAND [ARGS]

Commands:
  tables                      list the provider's tables and their columns
  query TABLE [flags]         print rows (--columns, --where, --arg, --order, --limit, --format table|csv|jsonl)
  scan TABLE [flags]          read every row in place and print a summary (--columns, --where, --arg)
  watch URI [--count N]       print a line per change notification of URI
  insert TABLE COL=VALUE...   insert a row
  update TABLE COL=VALUE... [--where SEL --arg V...]
  delete TABLE [--where SEL --arg V...]

Run 'consumer COMMAND --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets.
type env struct {
	socket string
	stdout io.Writer
	stderr io.Writer
}

// usageError reports a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{socket: sockpath.Default(), stdout: stdout, stderr: stderr}
	// Global flags come before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprint(stdout, usage)
			return exitOK
		case a == "-socket" || a == "--socket":
			if len(args) < 2 {
				fmt.Fprint(stderr, "consumer: --socket needs a path\n\n"+usage)
				return exitUsage
			}
			e.socket, args = args[1], args[2:]
		case strings.HasPrefix(a, "-socket=") || strings.HasPrefix(a, "--socket="):
			e.socket, args = a[strings.IndexByte(a, '=')+1:], args[1:]
		default:
			fmt.Fprintf(stderr, "consumer: unknown flag %s\n\n%s", a, usage)
			return exitUsage
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
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "consumer: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return e.report(ctx, cmd(ctx, e, args[1:]))
}

// report prints err for a person and returns the exit status it means.
func (e *env) report(ctx context.Context, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "consumer: %s\n", ue.msg)
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintln(e.stderr, "consumer: interrupted")
		return exitInterrupted
	case errors.Is(err, sockpath.ErrUnsafeDir):
		fmt.Fprintf(e.stderr, "consumer: %v\n", err)
		return exitPermission
	case errors.Is(err, content.ErrPermission):
		fmt.Fprintf(e.stderr, "consumer: the provider at %s refused access: %s\n", e.socket, providerMessage(err))
		return exitPermission
	case errors.Is(err, content.ErrNotFound):
		fmt.Fprintf(e.stderr, "consumer: %s\n", providerMessage(err))
		return exitNotFound
	case errors.Is(err, content.ErrProviderGone) && errors.Is(err, syscall.ENOENT):
		fmt.Fprintf(e.stderr, "consumer: no provider is listening on %s (no socket there; start one with: provider)\n", e.socket)
		return exitNoProvider
	case errors.Is(err, content.ErrProviderGone) && errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(e.stderr, "consumer: no provider is listening on %s (a stale socket; start one with: provider)\n", e.socket)
		return exitNoProvider
	case errors.Is(err, content.ErrProviderGone) && errors.Is(err, syscall.EACCES):
		fmt.Fprintf(e.stderr, "consumer: cannot connect to %s: permission denied\n", e.socket)
		return exitPermission
	case errors.Is(err, content.ErrProviderGone):
		fmt.Fprintf(e.stderr, "consumer: the provider at %s went away: %v\n", e.socket, err)
		return exitNoProvider
	}
	fmt.Fprintf(e.stderr, "consumer: %s\n", providerMessage(err))
	return exitFailed
}

// providerMessage returns an error's text without the package prefix a
// provider's error carries.
func providerMessage(err error) string {
	var pe *content.ProviderError
	if errors.As(err, &pe) {
		return strings.TrimPrefix(pe.Message, "content: ")
	}
	return err.Error()
}

// dial connects to the provider, checking the default socket's directory
// first.
func (e *env) dial(ctx context.Context) (*content.Client, error) {
	if e.socket == sockpath.Default() {
		if err := sockpath.Check(e.socket); err != nil {
			return nil, err
		}
	}
	return content.Dial(ctx, e.socket)
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
