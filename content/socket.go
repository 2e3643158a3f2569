package content

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrUnsafeSocketDir reports a socket directory another user could tamper
// with: replace the socket, or plant one of their own for consumers to
// talk to.
var ErrUnsafeSocketDir = errors.New("content: unsafe socket directory")

// DefaultSocketPath returns where a provider that serves its own uid
// listens when no path is given, and where its consumers look first:
// $CURSORWINDOW_SOCKET if set; else $XDG_RUNTIME_DIR/cursorwindow/provider.sock;
// else $TMPDIR/cursorwindow-$UID/provider.sock. The directory is the
// provider's own, mode 0700.
func DefaultSocketPath() string {
	if p := os.Getenv("CURSORWINDOW_SOCKET"); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cursorwindow", "provider.sock")
	}
	return filepath.Join(os.TempDir(), "cursorwindow-"+strconv.Itoa(os.Geteuid()), "provider.sock")
}

// SharedSocketPath returns where a provider that serves other uids
// listens when no path is given, and where consumers look when there is
// no socket at DefaultSocketPath: $CURSORWINDOW_RUNTIME_DIR/provider.sock,
// else /run/cursorwindow/provider.sock. The path does not depend on who
// asks, so every uid finds the same provider; the directory (created mode
// 0711 by a provider that can, usually root) lets every uid reach the
// socket but not list or change the directory, and the provider's
// Authorizer and Permission decide who is served. See docs/SECURITY.md.
func SharedSocketPath() string {
	dir := "/run/cursorwindow"
	if d := os.Getenv("CURSORWINDOW_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		dir = d
	}
	return filepath.Join(dir, "provider.sock")
}

// CheckSocketDir verifies that the directory of the socket at path is one
// no other user controls: a real directory (not a symbolic link), owned
// by the caller or by root, and writable by no one else unless it is
// sticky (like /tmp, where no one can replace another's file). A missing
// directory is fine (Listen creates it). Listen runs it; a consumer runs
// it before trusting a default location. Errors wrap ErrUnsafeSocketDir.
func CheckSocketDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeSocketDir, dir)
	}
	uid := uint32(os.Geteuid())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != uid && st.Uid != 0 {
		return fmt.Errorf("%w: %s belongs to uid %d, not %d (or root)", ErrUnsafeSocketDir, dir, st.Uid, uid)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("%w: %s is writable by others (mode %v)", ErrUnsafeSocketDir, dir, fi.Mode().Perm())
	}
	return nil
}
