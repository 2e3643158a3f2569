package window

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// RemoveStale removes what crashed writers of this user left behind, and
// reports what it removed:
//
//   - POSIX shm objects named "PREFIX-PID-SEQ" (ShmBacking with the
//     writer name prefix) owned by the effective uid whose PID is dead;
//   - System V segments created by the effective uid under a key tagged by
//     SysVBacking whose creator pid is dead and that start with a window
//     header's magic (a segment of another program is left alone);
//   - in each of dirs, temporary files of FileBacking
//     ("NAME.cwtmp-PID-SEQ") owned by the effective uid whose PID is dead.
//
// A provider calls it at start. A PID is taken as alive if kill(pid, 0)
// finds it; a dead writer's PID reused by a live process keeps its names
// until that process is gone too.
func RemoveStale(prefix string, dirs ...string) ([]Location, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	var out []Location
	var errs []error
	uid := uint32(os.Geteuid())

	ents, err := os.ReadDir(shm.ShmDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix+"-")
		if !ok || !stalePID(rest) || !ownedBy(filepath.Join(shm.ShmDir, name), uid) {
			continue
		}
		if err := shm.UnlinkShm(name); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
			continue
		}
		out = append(out, Location{Kind: KindShm, Name: name})
	}

	segs, err := sysvSegments()
	if err != nil {
		errs = append(errs, err)
	}
	for _, s := range segs {
		if s.Key>>24 != sysvKeyTag || s.CUID != uid || shm.Alive(s.CPID) || !sysvHoldsWindow(s.ID) {
			continue
		}
		if err := shm.SysVRemove(s.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Location{Kind: KindSysV, ID: s.ID, Key: s.Key})
	}

	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			i := strings.LastIndex(e.Name(), tmpMarker)
			path := filepath.Join(dir, e.Name())
			if i < 0 || !stalePID(e.Name()[i+len(tmpMarker):]) || !ownedBy(path, uid) {
				continue
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			out = append(out, Location{Kind: KindFile, Path: path})
		}
	}
	return out, errors.Join(errs...)
}

// stalePID reports whether s ends in "PID-SEQ" (after any more of a name
// prefix and a dash) with PID a process that is gone.
func stalePID(s string) bool {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return false
	}
	if _, err := strconv.ParseUint(s[i+1:], 10, 64); err != nil {
		return false
	}
	p := s[:i]
	p = p[strings.LastIndexByte(p, '-')+1:]
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return false
	}
	return !shm.Alive(pid)
}

// ownedBy reports whether path (not followed if a link) is a regular file
// owned by uid.
func ownedBy(path string, uid uint32) bool {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid == uid
}

// sysvHoldsWindow reports whether the segment starts with a window's
// magic number.
func sysvHoldsWindow(id int) bool {
	m, err := shm.SysVAttach(id, false)
	if err != nil {
		return false
	}
	defer shm.SysVDetach(m)
	return len(m) >= headerSize && le.Uint32(m[offMagic:]) == magic
}

// sysvSegment is one line of /proc/sysvipc/shm.
type sysvSegment struct {
	Key, ID, CPID int
	CUID          uint32
}

// sysvSegments lists the System V segments of this IPC namespace.
func sysvSegments() ([]sysvSegment, error) {
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSysVList(f)
}

// parseSysVList reads the table of /proc/sysvipc/shm: a header line
// naming the columns, then one segment per line.
func parseSysVList(f *os.File) ([]sysvSegment, error) {
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return nil, sc.Err()
	}
	col := map[string]int{}
	for i, h := range strings.Fields(sc.Text()) {
		col[h] = i
	}
	for _, h := range []string{"key", "shmid", "cpid", "cuid"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("window: /proc/sysvipc/shm has no %s column", h)
		}
	}
	var out []sysvSegment
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < len(col) {
			continue
		}
		key, err1 := strconv.ParseInt(f[col["key"]], 10, 64)
		id, err2 := strconv.Atoi(f[col["shmid"]])
		cpid, err3 := strconv.Atoi(f[col["cpid"]])
		cuid, err4 := strconv.ParseUint(f[col["cuid"]], 10, 32)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("window: /proc/sysvipc/shm: %w", err)
		}
		out = append(out, sysvSegment{Key: int(int32(key)), ID: id, CPID: cpid, CUID: uint32(cuid)})
	}
	return out, sc.Err()
}
