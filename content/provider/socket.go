package provider

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cursorwindow/cursorwindow/content"
)

// Listen creates a unix socket listener at path with the given file mode.
// Mode 0600 serves the provider's own uid; a mode that grants others read
// and write (0666) serves other uids, whom the Authorizer and Permission
// then admit or refuse. A missing directory is created mode 0700, or 0711
// when mode grants others access: they can then reach the socket but not
// list or change the directory. Listen refuses a directory others control
// (CheckSocketDir).
//
// A path starting with "@" names an abstract socket, which has no
// permission checks at all: use it only deliberately. A socket file left
// by a provider that is gone is replaced; one a live provider answers on
// is not (the error wraps syscall.EADDRINUSE).
func Listen(path string, mode os.FileMode) (*net.UnixListener, error) {
	if !strings.HasPrefix(path, "@") {
		if err := prepareDir(filepath.Dir(path), mode); err != nil {
			return nil, err
		}
		if err := content.CheckSocketDir(path); err != nil {
			return nil, err
		}
		if _, err := os.Lstat(path); err == nil {
			if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
				c.Close()
				return nil, fmt.Errorf("content: listen %s: a provider is running there: %w", path, syscall.EADDRINUSE)
			}
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(path, "@") {
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}

// prepareDir creates the socket's directory if missing and, when the
// socket is for others (mode grants group or others access), lets them
// traverse a directory of ours.
func prepareDir(dir string, mode os.FileMode) error {
	var traverse os.FileMode
	if mode&0o060 != 0 {
		traverse |= 0o010
	}
	if mode&0o006 != 0 {
		traverse |= 0o001
	}
	if err := os.MkdirAll(dir, 0o700|traverse); err != nil {
		return err
	}
	if traverse == 0 {
		return nil
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || st.Uid != uint32(os.Geteuid()) || fi.Mode().Perm()&traverse == traverse {
		return nil // not ours to change, or already reachable
	}
	return os.Chmod(dir, fi.Mode().Perm()|traverse)
}
