package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/cursorwindow/cursorwindow/content"
)

// batchLine is one operation of a batch file.
type batchLine struct {
	Op        string         `json:"op"`
	URI       string         `json:"uri"`
	Values    map[string]any `json:"values"`
	Where     string         `json:"where"`
	Args      []any          `json:"args"`
	ValueRefs map[string]int `json:"valueRefs"`
	ArgRefs   map[string]int `json:"argRefs"` // JSON keys are strings: "0" for the first argument
}

var batchOps = map[string]content.Op{"insert": content.OpInsert, "update": content.OpUpdate, "delete": content.OpDelete}

// operation converts a line to a content.Operation.
func (l *batchLine) operation() (content.Operation, error) {
	op, ok := batchOps[l.Op]
	if !ok {
		return content.Operation{}, fmt.Errorf("op %q: want insert, update or delete", l.Op)
	}
	o := content.Operation{Op: op, URI: l.URI, Selection: l.Where, ValueRefs: l.ValueRefs}
	if l.URI == "" {
		return o, errors.New(`no "uri"`)
	}
	if l.Values != nil {
		o.Values = content.Values{}
		for k, v := range l.Values {
			x, err := jsonValue(v)
			if err != nil {
				return o, fmt.Errorf("value %q: %w", k, err)
			}
			o.Values[k] = x
		}
	}
	for i, v := range l.Args {
		x, err := jsonValue(v)
		if err != nil {
			return o, fmt.Errorf("argument %d: %w", i+1, err)
		}
		o.Args = append(o.Args, x)
	}
	for k, ref := range l.ArgRefs {
		i, err := strconv.Atoi(k)
		if err != nil {
			return o, fmt.Errorf("argRefs key %q: want an argument's index", k)
		}
		if o.ArgRefs == nil {
			o.ArgRefs = map[int]int{}
		}
		o.ArgRefs[i] = ref
	}
	return o, nil
}

// readBatch reads a batch file: one JSON object per non-empty line. It
// returns the operations and the line each came from.
func readBatch(r io.Reader) ([]content.Operation, []int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var ops []content.Operation
	var lines []int
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l batchLine
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		d.DisallowUnknownFields()
		if err := d.Decode(&l); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		op, err := l.operation()
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		ops, lines = append(ops, op), append(lines, line)
	}
	return ops, lines, sc.Err()
}

func cmdBatch(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("batch", "FILE (one operation per line; - for standard input)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("batch wants one file (consumer batch --help)")
	}
	in := e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ops, lines, err := readBatch(in)
	if err != nil {
		return usagef("batch %s: %v", pos[0], err)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.ApplyBatch(ctx, ops)
	var we *content.WriteError
	if errors.As(err, &we) && we.Index >= 0 && we.Index < int64(len(ops)) { // the client checked the range
		i := we.Index
		return &explained{msg: fmt.Sprintf("line %d (%s %s): %s; nothing was applied", lines[i],
			ops[i].Op, escapeControls(ops[i].URI), providerMessage(we.Err)), err: err}
	}
	if err != nil {
		return err
	}
	for i, r := range res {
		what := "row id"
		if ops[i].Op != content.OpInsert {
			what = "rows"
		}
		if _, err := fmt.Fprintf(e.stdout, "%d %s %s: %s %d\n", i, ops[i].Op, escapeControls(ops[i].URI), what, r); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(e.stdout, "applied %d %s\n", len(res), plural(int64(len(res)), "operation"))
	return err
}
