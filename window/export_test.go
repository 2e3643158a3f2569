package window

import "os"

// OpenPopulate is Open with MAP_POPULATE, for the benchmark that decides
// whether pre-faulting the reader's mapping pays off.
func OpenPopulate(f *os.File) (*Window, error) { return openFile(f, openConfig{}, true) }

// OpenFileBytes is OpenFile's check of a file's bytes (checksum, then
// header), for the fuzz target.
func OpenFileBytes(b []byte) (*Window, error) {
	if err := verifyChecksum(b); err != nil {
		return nil, err
	}
	return OpenBytes(b)
}

// SetScrub turns the zeroing of stale free space at seal on or off, for
// the benchmark that measures its cost; it returns the previous setting.
func SetScrub(on bool) bool {
	old := scrubFree
	scrubFree = on
	return old
}
