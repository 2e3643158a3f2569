// Package sockpath is the socket location the example provider and
// consumer agree on when no --socket flag is given.
//
// The default is $XDG_RUNTIME_DIR/cursorwindow/provider.sock, or, without
// XDG_RUNTIME_DIR, $TMPDIR/cursorwindow-$UID/provider.sock. Either way the
// socket lives in a directory of its own, mode 0700, that Check verifies
// before use: in a shared temporary directory another user could create
// the directory first and wait there for our connections.
//
// # Caveats
//
// Check is meant for the default location; a path given explicitly is the
// caller's responsibility.
package sockpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Default returns the default socket path.
func Default() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cursorwindow", "provider.sock")
	}
	return filepath.Join(os.TempDir(), "cursorwindow-"+strconv.Itoa(os.Geteuid()), "provider.sock")
}

// ErrUnsafeDir reports a socket directory another user could tamper with.
var ErrUnsafeDir = errors.New("sockpath: unsafe socket directory")

// Check verifies that the directory of path, if it exists, is a real
// directory (not a symbolic link) owned by the effective uid and closed to
// group and others. A missing directory is fine: the provider creates it
// with mode 0700.
func Check(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeDir, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to uid %d, not %d", ErrUnsafeDir, dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %v, want 0700", ErrUnsafeDir, dir, fi.Mode().Perm())
	}
	return nil
}
