package window

import "os"

// OpenPopulate is Open with MAP_POPULATE, for the benchmark that decides
// whether pre-faulting the reader's mapping pays off.
func OpenPopulate(f *os.File) (*Window, error) { return openFile(f, true) }
