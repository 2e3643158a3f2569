// Package progress draws a one-line progress bar for the example programs,
// on a terminal only: when the output is a file or a pipe it draws
// nothing, so logs and captured output stay clean.
//
//	bar := progress.New(os.Stderr, "scanning trips", total)
//	for ... {
//		bar.Update(done)
//	}
//	bar.Done()
//
// # Caveats
//
// A Bar is not safe for concurrent use. Anything else written to the same
// terminal while a bar is drawn should come after Done.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// interval is the least time between two redraws.
const interval = 100 * time.Millisecond

const width = 30 // cells of the bar itself

// Bar is a progress bar drawn on one terminal line.
type Bar struct {
	w     io.Writer
	label string
	total int64 // <= 0: unknown
	on    bool
	drawn bool
	next  time.Time
}

// New returns a bar for a task of total steps (0 or less if unknown),
// drawn on w if w is a terminal (an *os.File); otherwise every method does
// nothing.
func New(w io.Writer, label string, total int64) *Bar {
	f, ok := w.(*os.File)
	return &Bar{w: w, label: label, total: total, on: ok && IsTerminal(f), next: time.Now().Add(interval)}
}

// Enabled reports whether the bar draws anything.
func (b *Bar) Enabled() bool { return b.on }

// SetTotal sets the number of steps once it becomes known.
func (b *Bar) SetTotal(n int64) { b.total = n }

// Update redraws the bar for done steps, at most every 100ms.
func (b *Bar) Update(done int64) {
	if !b.on {
		return
	}
	now := time.Now()
	if now.Before(b.next) {
		return
	}
	b.next = now.Add(interval)
	b.draw(done)
}

func (b *Bar) draw(done int64) {
	var line string
	if b.total > 0 {
		frac := min(float64(done)/float64(b.total), 1)
		full := int(frac * width)
		line = fmt.Sprintf("\r%s [%s%s] %3.0f%% %d/%d", b.label,
			strings.Repeat("#", full), strings.Repeat(".", width-full), frac*100, done, b.total)
	} else {
		line = fmt.Sprintf("\r%s %d", b.label, done)
	}
	fmt.Fprint(b.w, line+"\x1b[K")
	b.drawn = true
}

// Done erases the bar, leaving the cursor at the start of an empty line.
func (b *Bar) Done() {
	if b.on && b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}
