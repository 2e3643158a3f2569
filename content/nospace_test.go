package content_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/window"
)

// childNoSpace makes the test binary a provider and a consumer sharing a
// private mount namespace with a 4 MiB tmpfs over /dev/shm.
const childNoSpace = "CURSORWINDOW_CONTENT_NOSPACE"

func init() {
	if os.Getenv(childNoSpace) != "" {
		os.Exit(noSpaceChild())
	}
}

// A provider whose shared windows live in a full /dev/shm: the query
// that needs a window gets a clear error, nothing is left in /dev/shm,
// and the provider goes on serving.
func TestFullDevShmCostsOnlyTheQuery(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs over /dev/shm in a private mount namespace")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childNoSpace+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "skip:") {
		t.Skip(strings.TrimSpace(string(out)))
	}
	require.NoError(t, err, "the child must live: %s", out)
	assert.Equal(t, "big: busy, no room\nsmall: 10 rows\nbig again: busy, no room\nleft: 0", strings.TrimSpace(string(out)))
}

func noSpaceChild() int {
	if err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=4m"); err != nil {
		fmt.Println("skip: cannot mount a tmpfs over /dev/shm:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "nospace")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	p := contenttest.NewMemProvider()
	p.AddTable("trips", []string{"id", "fare", "city", "payload"}, benchTable(200_000)) // ≈ 26 MiB of windows
	ln, err := provider.Listen(filepath.Join(dir, "p.sock"), 0o600)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	srv := provider.NewServer(p, provider.WithLogger(quiet), provider.WithBacking(window.KindShm),
		provider.WithWindowSize(1<<20), provider.WithSharedWindows(false),
		provider.WithInlineLimit(0)) // every window shared: no inline window to fall back to
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	defer stop()
	c, err := content.Dial(context.Background(), filepath.Join(dir, "p.sock"), content.WithBusyWait(0))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	// Cursors that each hold a window of 1 MiB: a 4 MiB /dev/shm has no
	// room for the fifth, whatever the timing.
	big := func(step string) {
		var curs []*content.Cursor
		defer func() {
			for _, c := range curs {
				c.Close()
			}
		}()
		for range 6 {
			cur, err := c.Query(ctx, &content.Query{URI: "trips"}, content.WithPrefetch(0))
			if err != nil {
				if errors.Is(err, content.ErrBusy) && strings.Contains(err.Error(), "no room for a window") {
					fmt.Printf("%s: busy, no room\n", step)
				} else {
					fmt.Printf("%s: %v\n", step, err)
				}
				return
			}
			curs = append(curs, cur)
		}
		fmt.Printf("%s: six windows of 1 MiB in a 4 MiB /dev/shm\n", step)
	}
	big("big")
	rows, _, err := scan(ctx, c, &content.Query{URI: "trips", Limit: 10})
	fmt.Printf("small: %d rows%s\n", rows, errText(err))
	big("big again")
	c.Close()
	stop()
	if err := <-done; err != nil {
		fmt.Println("serve:", err)
	}
	left, _ := os.ReadDir("/dev/shm") // every window name removed at shutdown
	fmt.Printf("left: %d\n", len(left))
	return 0
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
