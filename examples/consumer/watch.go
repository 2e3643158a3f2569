package main

import (
	"context"
	"fmt"

	"github.com/cursorwindow/cursorwindow/content"
)

func cmdWatch(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("watch", "URI [--count N] [--timeout D]")
	count := fs.Int("count", 0, "exit after this many notifications (0: run until interrupted)")
	timeout := fs.Duration("timeout", 0, "exit after this long (0: no limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	uri, err := oneTable("watch", pos)
	if err != nil {
		return err
	}
	if *timeout > 0 { // the whole command, the connection and the registration included
		e.wd.limit(*timeout)
		e.timeout = min(e.timeout, *timeout) // the one a timeout message names
		if e.timeout == 0 {
			e.timeout = *timeout
		}
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := c.Register(ctx, uri, true)
	if err != nil {
		return err
	}
	defer w.Close()
	e.wd.disarm() // registered: notifications may take as long as they take (until --timeout)
	fmt.Fprintf(e.stderr, "watching %s\n", escapeControls(uri))
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case u, ok := <-w.C():
			if !ok {
				return fmt.Errorf("%w: the watch ended", content.ErrProviderGone)
			}
			if _, err := fmt.Fprintf(e.stdout, "changed: %s\n", escapeControls(u)); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil // Ctrl-C, or its --timeout, is how a watch ends
		}
	}
	return nil
}
