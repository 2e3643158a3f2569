package cwparquet

import (
	"errors"
	"fmt"
)

// ErrWrite reports that the io.Writer the file went to failed (a closed
// pipe, a full disk): what reached it is the start of a file, without
// the footer that would make it one. Write's error is then a
// *WriteError, which matches it with errors.Is.
var ErrWrite = errors.New("cwparquet: writing the file failed")

// WriteError is the error of a Write whose io.Writer failed.
type WriteError struct {
	Offset int64 // the bytes the writer took before it failed
	Err    error // the writer's error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("cwparquet: writing the file failed after %d bytes: %v", e.Offset, e.Err)
}

// Unwrap returns the writer's error.
func (e *WriteError) Unwrap() error { return e.Err }

// Is reports whether target is ErrWrite.
func (e *WriteError) Is(target error) bool { return target == ErrWrite }

// errAborted is what Write's buffer gets from below once Write gave up:
// the Parquet writer's last writes, the footer's among them, go nowhere.
var errAborted = errors.New("cwparquet: write after an error")
