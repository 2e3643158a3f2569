// Package fdtest checks tests for leaked descriptors by the identity of
// the files they created, not by counting every descriptor in the
// process.
//
// A count also moves when an earlier test's descriptor is closed late (a
// goroutine still inside a send holds the file, and Close then only marks
// it) or when the runtime opens one of its own; it failed about once in
// six runs under -race ("10 open before, 11 after"). What a test can leak
// is a socket it was given or a descriptor it received; a received
// descriptor refers to the file that was sent, so both are recognised by
// the file's identity (device and inode), whatever their descriptor
// numbers. Socket and memfd inode numbers are not reused while a test runs
// (the kernel hands them out from a counter). A test that starts a
// goroutine using its files waits for it before returning.
//
// For tests only: fdpass's and parcel's tests share it.
package fdtest

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// fileID is what a descriptor refers to, whatever its number.
type fileID struct{ dev, ino uint64 }

// owned holds, for each test that called Check, the files it created.
var owned = struct {
	sync.Mutex
	m map[testing.TB]map[fileID]string
}{m: map[testing.TB]map[fileID]string{}}

// Own records that tb created the file fd refers to, if tb checks for
// leaks. It may be called from any goroutine.
func Own(tb testing.TB, fd int, what string) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		tb.Errorf("fstat %s: %v", what, err)
		return
	}
	owned.Lock()
	defer owned.Unlock()
	if files := owned.m[tb]; files != nil {
		files[fileID{uint64(st.Dev), uint64(st.Ino)}] = what
	}
}

// Open returns the descriptors open in this process that refer to a file
// tb created, as "fd N: what" lines in descriptor order.
func Open(tb testing.TB) []string {
	tb.Helper()
	owned.Lock()
	files := maps.Clone(owned.m[tb])
	owned.Unlock()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatalf("reading /proc/self/fd: %v", err)
	}
	type entry struct {
		fd   int
		what string
	}
	var found []entry
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/self/fd/"+e.Name(), &st) != nil {
			continue // closed since the directory was read, like the directory's own
		}
		if what, ok := files[fileID{uint64(st.Dev), uint64(st.Ino)}]; ok {
			found = append(found, entry{fd, what})
		}
	}
	slices.SortFunc(found, func(a, b entry) int { return cmp.Compare(a.fd, b.fd) })
	open := make([]string, len(found))
	for i, e := range found {
		open[i] = fmt.Sprintf("fd %d: %s", e.fd, e.what)
	}
	return open
}

// Check fails the test if, once every cleanup registered after it has
// run, a descriptor still refers to a file the test recorded with Own
// (its own descriptor, a dup, or one received for it). Other tests'
// descriptors, closing late or not, do not count. Call it first in a
// test.
func Check(tb testing.TB) {
	tb.Helper()
	owned.Lock()
	owned.m[tb] = map[fileID]string{}
	owned.Unlock()
	tb.Cleanup(func() {
		open := Open(tb)
		owned.Lock()
		delete(owned.m, tb)
		owned.Unlock()
		for _, fd := range open {
			tb.Errorf("descriptor leak: %s is still open", fd)
		}
	})
}

// Memfd returns a memfd (sealable) holding content, recorded with Own and
// closed at cleanup.
func Memfd(tb testing.TB, content string) *os.File {
	tb.Helper()
	fd, err := unix.MemfdCreate("fdtest", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		tb.Fatalf("memfd_create: %v", err)
	}
	Own(tb, fd, fmt.Sprintf("memfd %q", content))
	f := os.NewFile(uintptr(fd), "memfd")
	tb.Cleanup(func() { _ = f.Close() })
	if _, err := f.WriteString(content); err != nil {
		tb.Fatalf("writing a memfd: %v", err)
	}
	return f
}

// ReadAll reads a (received) file from offset 0 and closes it.
func ReadAll(tb testing.TB, f *os.File) string {
	tb.Helper()
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil && !errors.Is(err, io.EOF) {
		tb.Fatalf("reading %s: %v", f.Name(), err)
	}
	return string(buf[:n])
}
