package window

import (
	"fmt"
	"os"
	"os/exec"
)

// Inherit passes the sealed memfd window to the child process cmd will
// start: it appends the memfd to cmd.ExtraFiles and returns the descriptor
// number the child sees it as (3 and up), for the child's OpenInherited.
// Go cannot fork without exec, and an anonymous MAP_SHARED mapping does
// not survive exec, so a memfd, inherited across exec, is how a child
// shares its parent's window. The window must be a memfd sealed with Seal
// or SealReusable. The Writer keeps owning the file; cmd.Start duplicates
// it into the child.
func (w *Writer) Inherit(cmd *exec.Cmd) (int, error) {
	switch {
	case w.state == stateClosed:
		return -1, ErrClosed
	case w.Location().Kind != KindMemfd:
		return -1, fmt.Errorf("window: only a memfd window can be inherited, not a %s one", w.Location().Kind)
	case w.state != stateSealed || !w.kernelSealed:
		return -1, fmt.Errorf("%w: seal the window before a child inherits it", ErrNotSealed)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, w.reg.file())
	return 2 + len(cmd.ExtraFiles), nil
}

// OpenInherited opens the sealed memfd window a parent passed to this
// process as descriptor fd (see Writer.Inherit), with Open's checks, and
// closes the descriptor: the mapping outlives it.
func OpenInherited(fd int, opts ...OpenOption) (*Window, error) {
	if fd < 3 {
		return nil, fmt.Errorf("window: inherited descriptor %d is a standard stream", fd)
	}
	f := os.NewFile(uintptr(fd), "inherited-window")
	if f == nil {
		return nil, fmt.Errorf("window: invalid descriptor %d", fd)
	}
	defer f.Close()
	return Open(f, opts...)
}
