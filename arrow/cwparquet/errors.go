package cwparquet

import "errors"

// ErrWrite reports that the io.Writer the file went to failed (a closed
// pipe, a full disk): what reached it is the start of a file, without
// the footer that would make it one. It wraps the writer's error, and is
// matched with errors.Is.
var ErrWrite = errors.New("cwparquet: writing the file failed")

// errAborted is what Write's buffer gets from below once Write gave up:
// the Parquet writer's last writes, the footer's among them, go nowhere.
var errAborted = errors.New("cwparquet: write after an error")
