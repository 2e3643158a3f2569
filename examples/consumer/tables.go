package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

func cmdTables(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("tables", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("tables takes no arguments")
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tables, err := c.Tables(ctx) // the listing convention of PROTOCOL.md
	if errors.Is(err, content.ErrProtocol) {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	if err != nil {
		return err
	}
	e.wd.kick()
	// One line per table, names aligned; no header: the lines say it.
	t := &tableWriter{w: e.stdout, noHeader: true}
	t.header([]string{"table", "columns"})
	t.numeric = []bool{false, false}
	for _, table := range tables {
		desc := make([]string, len(table.Columns))
		for i, c := range table.Columns {
			desc[i] = c
			if typ := table.Types[i].DatabaseType; typ != "" {
				desc[i] += " " + typ
			}
		}
		if err := t.add([]string{table.Name, strings.Join(desc, ", ")}); err != nil {
			return err
		}
	}
	return t.flush()
}

// errMalformed reports a provider's answer that is not what the call
// promises (docs/PROTOCOL.md, "Listing tables and columns").
var errMalformed = errors.New("malformed answer from the provider")
