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
	res, err := c.Call(ctx, "tables", "", nil)
	if err != nil {
		return err
	}
	e.wd.kick()
	names, err := stringList(res, "tables")
	if err != nil {
		return err
	}
	// One line per table, names aligned; no header: the lines say it.
	t := &tableWriter{w: e.stdout, noHeader: true}
	t.header([]string{"table", "columns"})
	t.numeric = []bool{false, false}
	for _, name := range names {
		res, err := c.Call(ctx, "columns", name, nil)
		if err != nil {
			return err
		}
		e.wd.kick()
		cols, err := stringList(res, "columns")
		if err != nil {
			return err
		}
		types, err := stringList(res, "types")
		if err != nil {
			return err
		}
		desc := make([]string, len(cols))
		for i, c := range cols {
			desc[i] = c
			if i < len(types) && types[i] != "" {
				desc[i] += " " + types[i]
			}
		}
		if err := t.add([]string{name, strings.Join(desc, ", ")}); err != nil {
			return err
		}
	}
	return t.flush()
}

// errMalformed reports a provider's answer that is not what the call
// promises (docs/PROTOCOL.md, "Listing tables and columns").
var errMalformed = errors.New("malformed answer from the provider")

// stringList returns res[key] as a list of strings (content.Values.Strings),
// a malformed answer reported as such.
func stringList(res content.Values, key string) ([]string, error) {
	list, err := res.Strings(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return list, nil
}
