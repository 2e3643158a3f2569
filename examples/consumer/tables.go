package main

import (
	"context"
	"fmt"
	"strings"
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
	names, _ := res["tables"].([]any)
	// One line per table, names aligned; no header: the lines say it.
	t := &tableWriter{w: e.stdout, noHeader: true}
	t.header([]string{"table", "columns"})
	t.numeric = []bool{false, false}
	for _, n := range names {
		name := fmt.Sprint(n)
		res, err := c.Call(ctx, "columns", name, nil)
		if err != nil {
			return err
		}
		e.wd.kick()
		cols, _ := res["columns"].([]any)
		types, _ := res["types"].([]any)
		desc := make([]string, len(cols))
		for i, c := range cols {
			desc[i] = fmt.Sprint(c)
			if i < len(types) && types[i] != "" {
				desc[i] += " " + fmt.Sprint(types[i])
			}
		}
		if err := t.add([]string{name, strings.Join(desc, ", ")}); err != nil {
			return err
		}
	}
	return t.flush()
}
