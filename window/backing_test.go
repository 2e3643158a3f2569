package window_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window"
)

// testPrefix names every POSIX shm object the tests make, so TestMain can
// check that none is left.
const testPrefix = "cwtest"

// Environment of the child roles.
const (
	locEnv  = "CURSORWINDOW_WINDOW_LOC"  // kind:value of the window to read
	pathEnv = "CURSORWINDOW_WINDOW_PATH" // a file or directory for the child
)

// backingChild runs the child roles of the backing tests.
func backingChild(role string) int {
	switch role {
	case "located":
		return locatedChild()
	case "truncate-shm", "truncate-file":
		return truncateChild(role)
	case "crash":
		return crashChild()
	case "nospace-shm":
		return noSpaceShmChild()
	}
	fmt.Println("unknown role", role)
	return 2
}

// encodeLoc and decodeLoc pass a window's location to a child.
func encodeLoc(l window.Location, fd int) string {
	switch l.Kind {
	case window.KindShm:
		return "shm:" + l.Name
	case window.KindSysV:
		return "sysv:" + strconv.Itoa(l.ID)
	case window.KindFile:
		return "file:" + l.Path
	}
	return "fd:" + strconv.Itoa(fd)
}

// locatedChild opens the window its environment names, as a consumer in
// another process would (OpenLocation, or OpenInherited for a memfd), reads
// every value and prints the row count and a checksum of the values.
func locatedChild() int {
	kind, v, _ := strings.Cut(os.Getenv(locEnv), ":")
	var r *window.Window
	var err error
	switch kind {
	case "shm":
		r, err = window.OpenLocation(window.Location{Kind: window.KindShm, Name: v})
	case "sysv":
		id, _ := strconv.Atoi(v)
		r, err = window.OpenLocation(window.Location{Kind: window.KindSysV, ID: id})
	case "file":
		r, err = window.OpenLocation(window.Location{Kind: window.KindFile, Path: v})
	case "fd":
		fd, _ := strconv.Atoi(v)
		r, err = window.OpenInherited(fd)
	}
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer r.Close()
	sum, err := checksum(r)
	if err != nil {
		fmt.Println("read:", err)
		return 1
	}
	fmt.Printf("rows=%d start=%d sum=%016x\n", r.NumRows(), r.StartPos(), sum)
	return 0
}

// backings lists the backings a window can be written to, with options
// that give each a test name.
func backings(t testing.TB) map[string][]window.Option {
	return map[string][]window.Option{
		"memfd": nil, // the default
		"shm":   {window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)},
		"sysv":  {window.WithBacking(window.SysVBacking())},
		"file":  {window.WithBacking(window.FileBacking(filepath.Join(t.TempDir(), "snap.cw")))},
	}
}

// writeSample fills a window of the backing with n sample rows (growing
// it from 16 KiB) and seals it.
func writeSample(t testing.TB, n int, opts ...window.Option) (*window.Writer, [][]value) {
	t.Helper()
	opts = append(opts, window.WithStartPos(1000))
	w, err := window.Create(5, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	rows := sampleRows(n)
	k := min(n, 10)
	writeRows(t, w, rows[:k])
	for _, r := range rows[k:] {
		require.NoError(t, w.AllocRow())
		for c, v := range r {
			require.NoError(t, put(w, c, v))
		}
	}
	require.NoError(t, w.Seal())
	return w, rows
}

func TestEveryBackingIsReadFromAnotherProcess(t *testing.T) {
	checkLeaks(t)
	for name, opts := range backings(t) {
		t.Run(name, func(t *testing.T) {
			w, rows := writeSample(t, 5000, opts...)
			loc := w.Location()
			require.Equal(t, loc.Kind, map[string]window.Kind{
				"memfd": window.KindMemfd, "shm": window.KindShm, "sysv": window.KindSysV, "file": window.KindFile,
			}[name])

			// The writer's own view agrees, value by value.
			local := view(t, w)
			assertRows(t, local, rows)
			want, err := checksum(local)
			require.NoError(t, err)
			require.NoError(t, local.Close())

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			fd := -1
			if name == "memfd" {
				fd, err = w.Inherit(cmd)
				require.NoError(t, err)
			}
			cmd.Env = append(os.Environ(), childEnv+"=located", locEnv+"="+encodeLoc(loc, fd))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "child: %s", out)
			assert.Equal(t, fmt.Sprintf("rows=5000 start=1000 sum=%016x", want), strings.TrimSpace(string(out)))

			if name != "memfd" {
				r, err := window.OpenLocation(loc)
				require.NoError(t, err)
				assertRows(t, r, rows)
				require.NoError(t, r.Close())
			}
			require.NoError(t, w.Close())
			switch name {
			case "shm":
				_, err := os.Stat("/dev/shm/" + loc.Name)
				assert.ErrorIs(t, err, os.ErrNotExist, "Close unlinks the name")
			case "sysv":
				_, err := window.OpenLocation(loc)
				assert.Error(t, err, "Close removes the segment")
			case "file":
				r, err := window.OpenLocation(loc)
				require.NoError(t, err, "the file outlives its writer")
				assertRows(t, r, rows)
				require.NoError(t, r.Close())
			}
		})
	}
}

func TestReaderKeepsAWindowItsWriterRemoved(t *testing.T) {
	for _, name := range []string{"shm", "sysv"} {
		t.Run(name, func(t *testing.T) {
			w, rows := writeSample(t, 100, backings(t)[name]...)
			r, err := window.MapLocation(w.Location())
			require.NoError(t, err)
			defer r.Close()
			require.NoError(t, w.Close()) // unlink / IPC_RMID
			require.NoError(t, r.Guard(func() error { assertRows(t, r, rows); return nil }))
		})
	}
}

func TestInheritNeedsASealedMemfd(t *testing.T) {
	w := newMemfd(t, 1)
	_, err := w.Inherit(exec.Command("true"))
	require.ErrorIs(t, err, window.ErrNotSealed)
	s, _ := writeSample(t, 1, backings(t)["shm"]...)
	_, err = s.Inherit(exec.Command("true"))
	require.Error(t, err)
	_, err = window.OpenInherited(1)
	require.Error(t, err)
}

// truncateChild opens a window of an unsealed backing as a reader, has
// "the provider" truncate it to nothing, and reads every value inside
// Guard: the SIGBUS must become an error, and the process must live to
// print it.
func truncateChild(role string) int {
	var opts []window.Option
	if role == "truncate-shm" {
		opts = []window.Option{window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)}
	} else {
		opts = []window.Option{window.WithBacking(window.FileBacking(filepath.Join(os.Getenv(pathEnv), "t.cw")))}
	}
	w, err := window.Create(2, append(opts, window.WithMaxSize(1<<20))...)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer w.Close()
	for i := range 5000 {
		w.AllocRow()
		w.PutInt64(0, int64(i))
		w.PutString(1, strings.Repeat("x", 100))
	}
	if err := w.Seal(); err != nil {
		fmt.Println(err)
		return 1
	}
	r, err := window.MapLocation(w.Location())
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer r.Close()
	path := w.Location().Path
	if path == "" {
		path = "/dev/shm/" + w.Location().Name
	}
	if err := os.Truncate(path, 0); err != nil { // the hostile provider
		fmt.Println(err)
		return 1
	}
	fmt.Println("survived:", guardedScan(r))
	_, cerr := r.Copy()
	fmt.Println("copy:", cerr)
	return 0
}

func TestTruncatedBackingIsAnErrorNotACrash(t *testing.T) {
	for _, role := range []string{"truncate-shm", "truncate-file"} {
		t.Run(role, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+role, pathEnv+"="+t.TempDir())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "the child exits 0: %s", out)
			assert.Contains(t, string(out), "survived: window: corrupt: memory fault")
			assert.Contains(t, string(out), "copy: window: corrupt: memory fault")
		})
	}
}

func TestOpenShmChecksNameOwnerAndMode(t *testing.T) {
	for _, name := range []string{"", ".", "..", "../etc/passwd", "a/b", ".hidden", strings.Repeat("x", 256), "sp ace"} {
		_, err := window.OpenShm(name)
		assert.Error(t, err, "name %q", name)
	}
	w, _ := writeSample(t, 3, backings(t)["shm"]...)
	name := w.Location().Name
	path := "/dev/shm/" + name

	link := testPrefix + "-link-" + strconv.Itoa(os.Getpid())
	require.NoError(t, os.Symlink(path, "/dev/shm/"+link))
	t.Cleanup(func() { os.Remove("/dev/shm/" + link) })
	_, err := window.OpenShm(link)
	assert.ErrorIs(t, err, unix.ELOOP, "a symbolic link is refused")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = window.OpenShm(name)
	assert.ErrorIs(t, err, window.ErrPermission, "mode 0644")
	require.NoError(t, os.Chmod(path, 0o600))
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(path, 12345, 12345))
		_, err = window.OpenShm(name)
		assert.ErrorIs(t, err, window.ErrPermission, "another owner")
		require.NoError(t, os.Chown(path, 0, 0))
	}
	r, err := window.OpenShm(name)
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

// setUint stores v in a field whose width differs between platforms (a
// System V mode is a uint16 on some 32-bit ones).
func setUint[T ~uint16 | ~uint32](p *T, v uint32) { *p = T(v) }

func TestOpenSysVChecksOwnerModeAndSize(t *testing.T) {
	w, _ := writeSample(t, 3, backings(t)["sysv"]...)
	id := w.Location().ID
	setMode := func(mode uint32) {
		var d unix.SysvShmDesc
		_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
		require.NoError(t, err)
		setUint(&d.Perm.Mode, mode)
		_, err = unix.SysvShmCtl(id, unix.IPC_SET, &d)
		require.NoError(t, err)
	}
	setMode(0o644)
	_, err := window.OpenSysV(id)
	assert.ErrorIs(t, err, window.ErrPermission)
	setMode(0o600)

	r, err := window.OpenSysV(id)
	require.NoError(t, err)
	require.NoError(t, r.Close())

	// A header claiming more than the segment holds.
	m, err := unix.SysvShmAttach(id, 0, 0)
	require.NoError(t, err)
	defer unix.SysvShmDetach(m)
	for i := range 8 {
		m[24+i] = 0xff
	}
	_, err = window.OpenSysV(id)
	assert.ErrorIs(t, err, window.ErrCorrupt)
	_, err = window.OpenSysV(-1)
	assert.Error(t, err)
}

func TestFileWindowRefusesTornAndModifiedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snap.cw")
	w, rows := writeSample(t, 300, window.WithBacking(window.FileBacking(path)))
	require.NoError(t, w.Close())
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	write := func(b []byte) {
		require.NoError(t, os.WriteFile(path, b, 0o600))
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)/2] ^= 1
	noSum := append([]byte(nil), good...)
	noSum[6] = 0
	for name, b := range map[string][]byte{
		"torn":       good[:len(good)/2],
		"header":     good[:window.HeaderSize],
		"short":      good[:10],
		"bit flip":   flip,
		"no flag":    noSum,
		"extra byte": append(append([]byte(nil), good...), 0),
	} {
		write(b)
		_, err := window.OpenFile(path)
		assert.ErrorIs(t, err, window.ErrCorrupt, name)
	}
	write(good)
	require.NoError(t, os.Chmod(path, 0o666))
	_, err = window.OpenFile(path)
	assert.ErrorIs(t, err, window.ErrPermission, "writable by others")
	require.NoError(t, os.Chmod(path, 0o644))
	r, err := window.OpenFile(path)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Guard(func() error { assertRows(t, r, rows); return nil }))

	f, err := window.Create(1, window.WithBacking(window.FileBacking(path)))
	require.NoError(t, err)
	defer f.Close()
	assert.Error(t, f.SealReusable(), "a file window is not reusable")
}

// crashChild leaves behind what a crashed provider would: a shm object,
// a System V segment, a sealed file window and the temporary file of a
// window it was still writing; then it exits without closing anything.
func crashChild() int {
	dir := os.Getenv(pathEnv)
	for _, opts := range [][]window.Option{
		{window.WithBacking(window.ShmBacking()), window.WithName(testPrefix)},
		{window.WithBacking(window.SysVBacking())},
		{window.WithBacking(window.FileBacking(filepath.Join(dir, "snap.cw")))},
		{window.WithBacking(window.FileBacking(filepath.Join(dir, "torn.cw")))},
	} {
		w, err := window.Create(2, opts...)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		w.AllocRow()
		w.PutInt64(0, 42)
		w.PutString(1, "survivor")
		if w.Location().Path != filepath.Join(dir, "torn.cw") {
			if err := w.Seal(); err != nil {
				fmt.Println(err)
				return 1
			}
		}
		fmt.Println(encodeLoc(w.Location(), -1))
	}
	return 0 // no Close: the names, the segment and the temp file stay
}

func TestRemoveStaleCleansUpAfterACrashedWriter(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=crash", pathEnv+"="+dir)
	out, err := cmd.Output()
	require.NoError(t, err, "child: %s", out)
	var locs []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		locs = append(locs, sc.Text())
	}
	require.Len(t, locs, 4)
	shmName, _ := strings.CutPrefix(locs[0], "shm:")
	sysvID, _ := strconv.Atoi(strings.TrimPrefix(locs[1], "sysv:"))

	// The crashed provider's windows are still there, readable.
	r, err := window.OpenShm(shmName)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	r, err = window.OpenSysV(sysvID)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	tmps, _ := filepath.Glob(filepath.Join(dir, "torn.cw.cwtmp-*"))
	require.Len(t, tmps, 1)
	_, err = os.Stat(filepath.Join(dir, "torn.cw"))
	require.ErrorIs(t, err, os.ErrNotExist, "an unsealed file window never reaches its path")

	// A live writer's window is not stale.
	live, _ := writeSample(t, 1, backings(t)["shm"]...)
	liveSysV, _ := writeSample(t, 1, backings(t)["sysv"]...)

	sysvKey := keyOf(t, sysvID)
	removed, err := window.RemoveStale(testPrefix, dir)
	require.NoError(t, err)
	var got []string
	for _, l := range removed {
		got = append(got, l.String())
	}
	assert.ElementsMatch(t, []string{
		"shm:" + shmName,
		fmt.Sprintf("sysv:%d (key %#x)", sysvID, sysvKey),
		"file:" + tmps[0],
	}, got)
	_, err = window.OpenSysV(sysvID)
	assert.Error(t, err, "the segment is gone")

	// The durable snapshot survives the crash and the cleanup.
	r, err = window.OpenFile(filepath.Join(dir, "snap.cw"))
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Guard(func() error {
		assertRows(t, r, [][]value{{vInt(42), vStr("survivor")}})
		return nil
	}))
	for _, l := range []window.Location{live.Location(), liveSysV.Location()} {
		r, err := window.OpenLocation(l)
		require.NoError(t, err, "a live writer's %s is kept", l)
		require.NoError(t, r.Close())
	}
}

// keyOf returns the key of a System V segment (before it is removed).
func keyOf(t testing.TB, id int) int {
	var d unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
	if err != nil {
		return 0
	}
	return int(d.Perm.Key)
}

func TestCopyOfAMappedWindow(t *testing.T) {
	w, rows := writeSample(t, 50, backings(t)["shm"]...)
	r, err := window.MapLocation(w.Location())
	require.NoError(t, err)
	c, err := r.Copy()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assertRows(t, c, rows)
	assert.Equal(t, w.Size(), c.Size(), "the sealed, compact window")
	_, err = r.Copy()
	assert.ErrorIs(t, err, window.ErrClosed)
}

// OpenLocation returns a private copy: nothing the owner of an unsealed
// window does afterwards, truncating it or rewriting it, reaches the
// reader.
func TestOpenLocationReadsAPrivateCopy(t *testing.T) {
	for _, name := range []string{"shm", "sysv", "file"} {
		t.Run(name, func(t *testing.T) {
			w, rows := writeSample(t, 200, backings(t)[name]...)
			loc := w.Location()
			r, err := window.OpenLocation(loc)
			require.NoError(t, err)
			defer r.Close()
			switch name {
			case "sysv":
				m, err := unix.SysvShmAttach(loc.ID, 0, 0)
				require.NoError(t, err)
				clear(m)
				require.NoError(t, unix.SysvShmDetach(m))
			case "shm":
				require.NoError(t, os.Truncate("/dev/shm/"+loc.Name, 0))
			case "file":
				require.NoError(t, os.Truncate(loc.Path, 0))
			}
			assertRows(t, r, rows)
		})
	}
}

// leftovers lists the shm objects named with the tests' prefix and the
// System V segments this process created that still exist.
func leftovers() []string {
	var out []string
	ents, _ := os.ReadDir("/dev/shm")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), testPrefix+"-") {
			out = append(out, "/dev/shm/"+e.Name())
		}
	}
	b, _ := os.ReadFile("/proc/sysvipc/shm")
	pid := strconv.Itoa(os.Getpid())
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == pid {
			out = append(out, "sysv segment "+f[1])
		}
	}
	return out
}
