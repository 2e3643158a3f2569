package window

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/cursorwindow/cursorwindow/window/internal/shm"
)

// castagnoli is the CRC-32C table (computed with SSE 4.2 or ARMv8 CRC
// instructions where the CPU has them).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileBacking returns a backing that writes the window to the file at
// path, durably: a snapshot that OpenLocation can read again after its
// writer, or the whole machine, has gone. The window is written into a
// temporary file beside path ("PATH.cwtmp-PID-SEQ", mode 0600) mapped
// MAP_SHARED; Seal compacts it, stores a CRC-32C of its bytes in the
// header, flushes it with msync(MS_SYNC) and fsync, and renames it over
// path (then syncs the directory), so path holds either the previous
// snapshot or the new one, never a mix. Close before Seal removes the
// temporary file; RemoveStale removes those a crashed writer left.
//
// A file window cannot be reused (SealReusable fails) and cannot be
// sealed: OpenLocation checks its owner, mode and checksum, and reads a
// private copy.
func FileBacking(path string) Backing { return fileBacking{path: path} }

type fileBacking struct{ path string }

func (fileBacking) Kind() Kind { return KindFile }

// tmpMarker separates a file window's path from the pid and sequence
// number of its temporary file.
const tmpMarker = ".cwtmp-"

func (b fileBacking) create(_ string, size, _ int64) (region, error) {
	if b.path == "" {
		return nil, errors.New("window: FileBacking with an empty path")
	}
	tmp := b.path + tmpMarker + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(seq.Add(1), 10)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if err := shm.Allocate(f, 0, size); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	m, err := shm.MapShared(f, int(size), true, false)
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &fileRegion{memfdRegion: memfdRegion{f: f, b: m}, path: b.path, tmp: tmp}, nil
}

// fileRegion is a file window being written to tmp, renamed to path once
// durable.
type fileRegion struct {
	memfdRegion
	path, tmp string
	committed bool // renamed to path
}

func (r *fileRegion) location() Location      { return Location{Kind: KindFile, Path: r.path} }
func (r *fileRegion) mapReadOnly(int64) error { return nil }

// seal checksums the compacted window, makes it durable and renames it
// into place.
func (r *fileRegion) seal(size int64, reusable bool) error {
	if reusable {
		return errors.New("window: a file window cannot be sealed for reuse")
	}
	b := r.b[:size]
	le.PutUint16(b[offFlags:], le.Uint16(b[offFlags:])|flagChecksum)
	le.PutUint64(b[offChecksum:], 0)
	le.PutUint64(b[offChecksum:], uint64(crc32.Checksum(b, castagnoli)))
	if err := r.shrink(size); err != nil {
		return err
	}
	if err := shm.Msync(r.b); err != nil {
		return err
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", r.tmp, err)
	}
	if err := os.Rename(r.tmp, r.path); err != nil {
		return err
	}
	r.committed = true
	return syncDir(filepath.Dir(r.path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

func (r *fileRegion) close() error {
	err := r.memfdRegion.close()
	if !r.committed {
		if rerr := os.Remove(r.tmp); err == nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	return err
}

// openFilePath maps the window file at path (written with FileBacking)
// read-only, once the file has passed these checks: a regular file of at
// least a header, owned by the caller's effective uid or by root and
// writable by no one else (mode & 0022 == 0), whose header carries a
// checksum (flagChecksum) that matches its bytes. A torn, truncated or
// modified file is ErrCorrupt: it is never half-read. With WithSizeLimit
// a larger file is refused (ErrTooLarge) before it is mapped or
// checksummed. The file is not sealed: its owner may still truncate or
// change it after the checks, so it is read inside guard.
func openFilePath(path string, cfg openConfig) (*Window, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := openUnsealed(f, checkFileOwner, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := w.guard(func() error { return verifyChecksum(w.b) }); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// checkFileOwner admits a file owned by the effective uid or root that no
// one else may write.
func checkFileOwner(in shm.Info) error {
	if uid := uint32(os.Geteuid()); in.UID != uid && in.UID != 0 {
		return fmt.Errorf("%w: owner uid %d, neither %d nor root", ErrPermission, in.UID, uid)
	}
	if in.Mode&0o022 != 0 {
		return fmt.Errorf("%w: mode %#o is writable by group or others", ErrPermission, in.Mode)
	}
	return nil
}

// verifyChecksum checks the CRC-32C a file window's header carries: over
// every byte of b, the checksum field read as zero.
func verifyChecksum(b []byte) error {
	if len(b) < headerSize {
		return corruptf("%d bytes, shorter than the header", len(b))
	}
	if le.Uint16(b[offFlags:])&flagChecksum == 0 {
		return corruptf("no checksum in the header")
	}
	want := le.Uint64(b[offChecksum:])
	var zero [8]byte
	sum := crc32.Update(0, castagnoli, b[:offChecksum])
	sum = crc32.Update(sum, castagnoli, zero[:])
	sum = crc32.Update(sum, castagnoli, b[offChecksum+8:])
	if uint64(sum) != want {
		return corruptf("checksum %#x, header says %#x (torn or modified file)", sum, want)
	}
	return nil
}
