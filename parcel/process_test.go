package parcel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/parcel"
)

// childEnv selects a child role when the test binary re-executes itself.
const childEnv = "PARCEL_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild re-executes the test binary in the given role, connected to
// the returned Conn by a socketpair passed as descriptor 3. The child is
// waited for at cleanup.
func startChild(tb testing.TB, role string) (*parcel.Conn, *net.UnixConn) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(tb, err)
	own(tb, fds[0], "socketpair end to the child")
	own(tb, fds[1], "child's socketpair end")
	childEnd := os.NewFile(uintptr(fds[1]), "child-socket")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	require.NoError(tb, cmd.Start())
	require.NoError(tb, childEnd.Close())
	uc := fileConn(tb, fds[0])
	pc, err := parcel.NewConn(uc, testRegistry())
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_ = pc.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("child %s: %v", role, err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			tb.Errorf("child %s did not exit", role)
		}
	})
	return pc, uc
}

// childConn is the child's end of the socketpair, descriptor 3.
func childConn() (*net.UnixConn, error) {
	f := os.NewFile(3, "parent-socket")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

func runChild(role string) error {
	uc, err := childConn()
	if err != nil {
		return err
	}
	switch role {
	case "memfd":
		return childMemfd(uc)
	case "echo-parcel":
		return childEchoParcel(uc)
	case "echo-plain":
		return childEchoPlain(uc)
	}
	return fmt.Errorf("unknown role %q", role)
}

// childMemfd receives a window descriptor with a sealed memfd, checks the
// seals and size, maps it read-only, and replies with what it read and
// with the descriptor itself.
func childMemfd(uc *net.UnixConn) error {
	pc, err := parcel.NewConn(uc, testRegistry())
	if err != nil {
		return err
	}
	defer pc.Close()
	ctx := context.Background()
	msg, files, err := pc.Read(ctx)
	if err != nil {
		return err
	}
	defer closeAll(files)
	w, ok := msg.(*window)
	if !ok || len(files) != 1 {
		return fmt.Errorf("got %T with %d files", msg, len(files))
	}
	fd := int(files[0].Fd())
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return fmt.Errorf("F_GET_SEALS: %w", err)
	}
	const want = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if seals&want != want {
		return fmt.Errorf("seals %#x, want %#x", seals, want)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Size != w.Size {
		return fmt.Errorf("memfd size %d, descriptor says %d", st.Size, w.Size)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	data := append([]byte(nil), mem...)
	if err := unix.Munmap(mem); err != nil {
		return err
	}
	return pc.Write(ctx, &blob{Data: data, Nums: []int64{int64(os.Getpid())}}, files[0])
}

// childEchoParcel writes every parcel back, without its descriptors
// (which it closes), until EOF.
func childEchoParcel(uc *net.UnixConn) error {
	pc, err := parcel.NewConn(uc, testRegistry())
	if err != nil {
		return err
	}
	defer pc.Close()
	ctx := context.Background()
	for {
		msg, files, err := pc.Read(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		closeAll(files)
		if err := pc.Write(ctx, msg); err != nil {
			return err
		}
	}
}

// childEchoPlain echoes fixed-size messages whose size is the first byte
// it reads, with plain Read and Write, until EOF.
func childEchoPlain(uc *net.UnixConn) error {
	defer uc.Close()
	var size [1]byte
	if _, err := io.ReadFull(uc, size[:]); err != nil {
		return err
	}
	buf := make([]byte, size[0])
	for {
		if _, err := io.ReadFull(uc, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := uc.Write(buf); err != nil {
			return err
		}
	}
}

// TestProcessMemfd sends a sealed memfd to a real second process, which
// maps it read-only and sends back what it read, and the descriptor.
func TestProcessMemfd(t *testing.T) {
	checkNoLeak(t)
	pc, _ := startChild(t, "memfd")
	content := "rows written by the parent, read in place by the child"
	f := memfd(t, content)
	_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc := sampleWindow
	desc.Size = int64(len(content))
	require.NoError(t, pc.Write(ctx, &desc, f))

	msg, files, err := pc.Read(ctx)
	require.NoError(t, err)
	require.Len(t, files, 1)
	defer closeAll(files)
	b, ok := msg.(*blob)
	require.True(t, ok, "reply is %T", msg)
	assert.Equal(t, content, string(b.Data))
	assert.NotEqual(t, int64(os.Getpid()), b.Nums[0], "the reply came from another process")

	// The descriptor that came back refers to our memfd.
	var mine, back unix.Stat_t
	require.NoError(t, unix.Fstat(int(f.Fd()), &mine))
	require.NoError(t, unix.Fstat(int(files[0].Fd()), &back))
	assert.Equal(t, mine.Ino, back.Ino)
	assert.Equal(t, mine.Dev, back.Dev)
}

// TestProcessEcho round-trips every message kind through a child process.
func TestProcessEcho(t *testing.T) {
	pc, _ := startChild(t, "echo-parcel")
	ctx := context.Background()
	fast := windowFast(sampleWindow)
	for _, msg := range []parcel.Message{&ping{Seq: 1}, &sampleWindow, &fast, &errorMsg{Code: 1, Message: "e"}, &blob{Data: []byte("b")}} {
		require.NoError(t, pc.Write(ctx, msg, memfd(t, "")))
		got, files, err := pc.Read(ctx)
		require.NoError(t, err)
		assert.Empty(t, files)
		assert.Equal(t, msg, got)
	}
}
