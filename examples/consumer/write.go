package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cursorwindow/cursorwindow/content"
)

// assignments parses COL=VALUE arguments.
func assignments(pos []string) (content.Values, error) {
	vals := content.Values{}
	for _, a := range pos {
		col, v, ok := strings.Cut(a, "=")
		if !ok || col == "" {
			return nil, usagef("want COLUMN=VALUE, got %q", a)
		}
		vals[col] = parseValue(v)
	}
	return vals, nil
}

func cmdInsert(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("insert", "TABLE COLUMN=VALUE... | TABLE --from FILE [--format csv|jsonl]")
	from := fs.String("from", "", "insert the rows of a CSV or JSON lines file (- for standard input) in one bulk insert")
	format := fs.String("format", "", "the file's format, csv or jsonl (default: from its name)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 {
		return usagef("insert wants a table (consumer insert --help)")
	}
	if *from != "" {
		if len(pos) > 1 {
			return usagef("insert --from takes the values from the file, not COLUMN=VALUE")
		}
		return cmdLoad(ctx, e, pos[0], *from, *format)
	}
	vals, err := assignments(pos[1:])
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.Insert(ctx, pos[0], vals)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "inserted row %d into %s\n", id, escapeControls(pos[0]))
	return err
}

func cmdUpdate(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("update", "TABLE COLUMN=VALUE... [--where SEL --arg V...]")
	var w whereFlags
	w.register(fs, " (default: every row)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("update wants a table and at least one COLUMN=VALUE (consumer update --help)")
	}
	vals, err := assignments(pos[1:])
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := c.Update(ctx, pos[0], vals, w.where, w.args...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "updated %d %s in %s\n", n, plural(n, "row"), escapeControls(pos[0]))
	return err
}

func cmdDelete(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("delete", "TABLE [--where SEL --arg V...]")
	var w whereFlags
	w.register(fs, " (default: every row)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	table, err := oneTable("delete", pos)
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := c.Delete(ctx, table, w.where, w.args...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "deleted %d %s from %s\n", n, plural(n, "row"), escapeControls(table))
	return err
}

func plural(n int64, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
