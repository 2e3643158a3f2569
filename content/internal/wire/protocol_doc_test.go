package wire

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docField is a field of a message as docs/PROTOCOL.md describes it.
type docField struct {
	key, typ, presence string // presence: req, opt or first
}

// docMessages reads every message of PROTOCOL.md's "Fields of each
// message": its type code and its fields, from the table after its
// heading ("**query** (3)") or the heading's own text ("**ok** (9): `r`
// uint, req: ...").
func docMessages(t *testing.T) map[string]struct {
	code   uint16
	fields []docField
} {
	t.Helper()
	b, err := os.ReadFile("../../../docs/PROTOCOL.md")
	require.NoError(t, err)
	doc := string(b)
	start := strings.Index(doc, "### Fields of each message")
	require.GreaterOrEqual(t, start, 0)
	end := strings.Index(doc[start+1:], "\n### ")
	require.Greater(t, end, 0)
	section := doc[start : start+1+end]

	heading := regexp.MustCompile(`^\*\*(\w+)\*\* \((\d+)\)(.*)$`)
	row := regexp.MustCompile("^\\| `(\\w+)` \\| ([^|]+?) \\| (req|opt|first) \\|")
	inline := regexp.MustCompile("`(\\w+)` (\\w+), (req|opt)")
	msgs := map[string]struct {
		code   uint16
		fields []docField
	}{}
	var cur string
	for line := range strings.SplitSeq(section, "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			code, err := strconv.Atoi(m[2])
			require.NoError(t, err)
			cur = m[1]
			msg := msgs[cur]
			msg.code = uint16(code)
			for _, f := range inline.FindAllStringSubmatch(m[3], -1) {
				msg.fields = append(msg.fields, docField{f[1], f[2], f[3]})
			}
			msgs[cur] = msg
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cur != "" {
			msg := msgs[cur]
			msg.fields = append(msg.fields, docField{m[1], strings.TrimSpace(m[2]), m[3]})
			msgs[cur] = msg
		}
	}
	return msgs
}

// goField is a field of a message as the code sends it.
type goField struct {
	kind      reflect.Type
	omitempty bool
}

// goFields returns a message struct's msgpack keys.
func goFields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	for f := range t.Fields() {
		tag := f.Tag.Get("msgpack")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = goField{f.Type, slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

// typeMatches reports whether a Go field's type is what the document's
// type column names.
func typeMatches(doc string, t reflect.Type) bool {
	if t.Kind() == reflect.Pointer { // nil: absent
		t = t.Elem()
	}
	switch doc {
	case "int":
		return t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64
	case "uint":
		return t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
	case "str":
		return t.Kind() == reflect.String
	case "bool":
		return t.Kind() == reflect.Bool
	case "bin":
		return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	case "map":
		return t.Kind() == reflect.Map
	case "[str]":
		return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String
	case "[int]":
		return t.Kind() == reflect.Slice && t.Elem().Kind() >= reflect.Int && t.Elem().Kind() <= reflect.Int64
	case "[value]":
		return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Interface
	case "[map]":
		return t.Kind() == reflect.Slice && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Map)
	}
	return false
}

// PROTOCOL.md is executed, as FORMAT.md is by window's tests: every
// message it describes has the type code, the keys, the types and the
// presence the code gives it, and every message the code registers is
// described. A key marked req is never left out by the encoder
// (omitempty).
func TestProtocolDocMatchesMessages(t *testing.T) {
	code := map[string]struct {
		code uint16
		msg  any
	}{
		"hello": {CodeHello, HelloMsg{}}, "helloReply": {CodeHelloReply, HelloReplyMsg{}},
		"query": {CodeQuery, QueryMsg{}}, "window": {CodeWindow, WindowMsg{}},
		"fillWindow": {CodeFillWindow, FillWindowMsg{}}, "release": {CodeRelease, ReleaseMsg{}},
		"closeQuery": {CodeCloseQuery, CloseQueryMsg{}}, "error": {CodeError, ErrorMsg{}},
		"ok": {CodeOK, OKMsg{}}, "register": {CodeRegister, RegisterMsg{}},
		"unregister": {CodeUnregister, UnregisterMsg{}}, "notify": {CodeNotify, NotifyMsg{}},
		"write": {CodeWrite, WriteMsg{}}, "writeReply": {CodeWriteReply, WriteReplyMsg{}},
		"bulk": {CodeBulk, BulkMsg{}}, "batch": {CodeBatch, BatchMsg{}}, "batchReply": {CodeBatchReply, BatchReplyMsg{}},
	}
	for c := uint16(1); c <= CodeBatchReply; c++ {
		_, err := Registry.Decode(c, []byte{0x80}) // every code up to the last is registered
		require.NoError(t, err, "code %d", c)
	}
	require.Len(t, code, int(CodeBatchReply), "this test names every registered message")

	docs := docMessages(t)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(code)), slices.Collect(maps.Keys(docs)), "the messages PROTOCOL.md describes")
	for name, m := range code {
		t.Run(name, func(t *testing.T) {
			d, ok := docs[name]
			require.True(t, ok, "PROTOCOL.md describes %s", name)
			assert.Equal(t, m.code, d.code, "type code")
			fields := goFields(reflect.TypeOf(m.msg))
			var keys []string
			for _, f := range d.fields {
				keys = append(keys, f.key)
				g, ok := fields[f.key]
				if !assert.True(t, ok, "key %q of the document is a field of %T", f.key, m.msg) {
					continue
				}
				assert.True(t, typeMatches(f.typ, g.kind), "key %q: the document says %s, the code has %v", f.key, f.typ, g.kind)
				if f.presence == "req" {
					assert.False(t, g.omitempty, "key %q is req but the encoder may leave it out", f.key)
				}
			}
			for k := range fields {
				assert.Contains(t, keys, k, "field %q of %T is in the document", k, m.msg)
			}
		})
	}
}

// PROTOCOL.md's table of error codes lists every code, with its sentinel,
// in the order CodeOf tries them (the document says the first sentinel in
// the table's order that an error wraps gives its code).
func TestProtocolDocErrorCodes(t *testing.T) {
	b, err := os.ReadFile("../../../docs/PROTOCOL.md")
	require.NoError(t, err)
	doc := string(b)
	start := strings.Index(doc, "| `c` | Go sentinel | sent when |")
	require.GreaterOrEqual(t, start, 0, "the error table")
	row := regexp.MustCompile("^\\| `(\\w+)` \\| `(Err\\w+)`")
	var got []string
	for line := range strings.SplitSeq(doc[start:], "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if m := row.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+" "+m[2])
		}
	}
	var want []string
	for _, c := range codeList {
		name := ""
		for n, e := range map[string]error{
			"ErrPermission": ErrPermission, "ErrNotFound": ErrNotFound, "ErrBadRequest": ErrBadRequest,
			"ErrUnsupported": ErrUnsupported, "ErrBusy": ErrBusy, "ErrClosed": ErrClosed,
			"ErrChanged": ErrChanged, "ErrProtocol": ErrProtocol, "ErrInternal": ErrInternal,
			"ErrShutdown": ErrShutdown,
		} {
			if e == c.err {
				name = n
			}
		}
		require.NotEmpty(t, name, "code %s: a sentinel the test knows", c.code)
		want = append(want, c.code+" "+name)
	}
	assert.Equal(t, want, got)
}
