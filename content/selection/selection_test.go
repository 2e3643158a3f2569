package selection_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/selection"
)

var cols = []string{"id", "city", "fare", "order", "and"}

// resolve maps names as SQLite does (case-insensitively) to the table's
// spelling, refusing names the table does not have.
func resolve(name string) (string, error) {
	i, err := selection.ColumnIndex(cols)(name)
	if err != nil {
		return "", err
	}
	return cols[i], nil
}

// The accepted selections, their number of arguments and the SQL they
// render.
func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		sel   string
		nargs int
		want  string
	}{
		{"", 0, ""},
		{"  ", 0, ""},
		{"id = ?", 1, `"id" = ?`},
		{"ID==?", 1, `"id" = ?`},
		{"fare >= ? and city != ?", 2, `"fare" >= ? AND "city" != ?`},
		{"city LIKE ? AND city NOT LIKE ?", 2, `"city" LIKE ? AND "city" NOT LIKE ?`},
		{"fare <> ? AND fare<? AND fare<=? AND fare>?", 4, `"fare" <> ? AND "fare" < ? AND "fare" <= ? AND "fare" > ?`},
		{`"order" = ?`, 1, `"order" = ?`},
		{`order = ? AND "and" IS NULL`, 1, `"order" = ? AND "and" IS NULL`},
		{"city IS NULL AND fare IS NOT NULL", 0, `"city" IS NULL AND "fare" IS NOT NULL`},
		{"id IN (?, ?, ?)", 3, `"id" IN (?, ?, ?)`},
		{"id NOT IN (?) OR fare NOT BETWEEN ? AND ?", 3, `"id" NOT IN (?) OR "fare" NOT BETWEEN ? AND ?`},
		{"(city = ? OR city = ?) AND NOT (fare < ? OR fare IS NULL)", 3, `("city" = ? OR "city" = ?) AND NOT ("fare" < ? OR "fare" IS NULL)`},
		{"id = ? OR fare = ? AND city = ?", 3, `"id" = ? OR "fare" = ? AND "city" = ?`}, // kept as written: SQLite's precedence
		{"NOT NOT id = ?", 1, `NOT NOT "id" = ?`},
		{"((id=?))", 1, `(("id" = ?))`},
		{strings.Repeat("(", selection.MaxDepth) + "id = ?" + strings.Repeat(")", selection.MaxDepth), 1,
			strings.Repeat("(", selection.MaxDepth) + `"id" = ?` + strings.Repeat(")", selection.MaxDepth)},
	} {
		s, err := selection.Parse(tc.sel)
		require.NoError(t, err, tc.sel)
		assert.Equal(t, tc.nargs, s.NumArgs(), tc.sel)
		got, err := s.SQL(resolve)
		require.NoError(t, err, tc.sel)
		assert.Equal(t, tc.want, got, tc.sel)
	}
}

// Malformed selections are bad requests; valid SQL outside the grammar
// is unsupported, naming what.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		sel  string
		kind error
		says string
	}{
		{"id = 1", content.ErrUnsupported, "value written in the text"},
		{"city = 'Paris'", content.ErrUnsupported, "value written in the text"},
		{"id = ? OR 1 = 1", content.ErrUnsupported, "value written in the text"},
		{"sqlite_version() = ?", content.ErrUnsupported, "functions (SQLITE_VERSION)"},
		{"id = ? AND fare > (SELECT max(fare))", content.ErrUnsupported, "subqueries"},
		{"id IN (SELECT id FROM cities)", content.ErrUnsupported, "subqueries"},
		{"fare + ? > ?", content.ErrUnsupported, `operator '+'`},
		{"city GLOB ?", content.ErrUnsupported, "GLOB"},
		{"city COLLATE nocase = ?", content.ErrUnsupported, "COLLATE"},
		{"id = fare", content.ErrUnsupported, "comparing fare"},
		{`id = "fare"`, content.ErrUnsupported, "comparing fare"},
		{"id = ? -- comment", content.ErrUnsupported, "value written in the text"},
		{"id = ?; DROP TABLE trips", content.ErrBadRequest, `unexpected ';'`},
		{`"id" = ? AND "x"" = ?`, content.ErrBadRequest, "unterminated"},
		{"(id = ?", content.ErrBadRequest, "want )"},
		{"id = ?)", content.ErrBadRequest, "want AND, OR or the end"},
		{"id IN ?", content.ErrBadRequest, "want ( after IN"},
		{"id IN ()", content.ErrBadRequest, "want ?"},
		{"id IN (?,)", content.ErrBadRequest, "want ?"},
		{"id BETWEEN ? OR ?", content.ErrBadRequest, "want AND in BETWEEN"},
		{"id IS ?", content.ErrBadRequest, "after IS"},
		{"id NOT = ?", content.ErrBadRequest, "after NOT"},
		{"id = ? AND", content.ErrBadRequest, "found the end"},
		{"AND = ?", content.ErrBadRequest, "want a column name"},
		{"id", content.ErrBadRequest, "want an operator"},
		{"id ! ?", content.ErrBadRequest, "unknown operator"},
		{"id = ?\x00", content.ErrBadRequest, "unexpected"},
		{strings.Repeat("(", selection.MaxDepth+1) + "id = ?" + strings.Repeat(")", selection.MaxDepth+1), content.ErrBadRequest, "nested"},
		{strings.Repeat("NOT ", selection.MaxDepth+1) + "id = ?", content.ErrBadRequest, "nested"},
	} {
		_, err := selection.Parse(tc.sel)
		require.ErrorIs(t, err, tc.kind, "%q", tc.sel)
		assert.Contains(t, err.Error(), tc.says, "%q", tc.sel)
	}
}

// A column the table does not have is refused when the selection meets
// the table, by SQL and by Compile alike, and so is a wrong number of
// arguments.
func TestColumnsAndArguments(t *testing.T) {
	for _, sel := range []string{"nope = ?", `"nope" = ?`, "id = ? OR (NOT nope IS NULL)"} {
		s, err := selection.Parse(sel)
		require.NoError(t, err)
		_, err = s.SQL(resolve)
		assert.ErrorIs(t, err, content.ErrBadRequest, sel)
		_, err = s.Compile(selection.ColumnIndex(cols), make([]any, s.NumArgs()))
		assert.ErrorIs(t, err, content.ErrBadRequest, sel)
	}
	s, err := selection.Parse("id = ?")
	require.NoError(t, err)
	for _, args := range [][]any{nil, {1, 2}} {
		_, err = s.Compile(selection.ColumnIndex(cols), args)
		assert.ErrorIs(t, err, content.ErrBadRequest)
	}
	_, err = s.Compile(selection.ColumnIndex(cols), []any{struct{}{}})
	assert.ErrorIs(t, err, content.ErrBadRequest, "a value a window cannot hold")

	// A resolver's own error keeps its kind, or becomes a bad request.
	_, err = s.SQL(func(string) (string, error) { return "", fmt.Errorf("%w: secret", content.ErrPermission) })
	assert.ErrorIs(t, err, content.ErrPermission)
	_, err = s.SQL(func(string) (string, error) { return "", fmt.Errorf("odd") })
	assert.ErrorIs(t, err, content.ErrBadRequest)
}

// Rows selected by SQLite's rules, NULL's three values included.
func TestCompile(t *testing.T) {
	rows := [][]any{
		{int64(1), "Paris", 10.5, nil, nil},
		{int64(2), "paris", int64(7), nil, nil},
		{int64(3), "Lyon", nil, nil, nil},
		{int64(4), nil, 3.0, nil, nil},
		{int64(5), "Nice", []byte("x"), nil, nil},
	}
	for _, tc := range []struct {
		sel  string
		args []any
		want []int64 // ids
	}{
		{"", nil, []int64{1, 2, 3, 4, 5}},
		{"id = ?", []any{2}, []int64{2}},
		{"id == ?", []any{2.0}, []int64{2}},             // int and float compare numerically
		{"fare > ?", []any{7}, []int64{1, 5}},           // blobs after numbers; NULL never
		{"fare >= ?", []any{int8(7)}, []int64{1, 2, 5}}, // any Go integer
		{"fare < ?", []any{"a"}, []int64{1, 2, 4}},      // numbers before strings
		{"fare != ?", []any{7}, []int64{1, 4, 5}},       // NULL is not "not equal"
		{"NOT fare = ?", []any{7}, []int64{1, 4, 5}},    // nor is its NOT true
		{"fare <> ? OR fare IS NULL", []any{7}, []int64{1, 3, 4, 5}},
		{"city = ?", []any{"Paris"}, []int64{1}}, // = is case-sensitive
		{"city LIKE ?", []any{"paris"}, []int64{1, 2}},
		{"city NOT LIKE ?", []any{"P%"}, []int64{3, 5}}, // NULL city: unknown
		{"city LIKE ?", []any{"_i%e"}, []int64{5}},
		{"fare LIKE ?", []any{"10.5"}, []int64{1}}, // numbers as text
		{"fare LIKE ?", []any{"3.0"}, []int64{4}},
		{"city LIKE ?", []any{nil}, nil},
		{"city = ?", []any{nil}, nil}, // = NULL: never
		{"city IS NULL", nil, []int64{4}},
		{"city IS NOT NULL AND fare IS NOT NULL", nil, []int64{1, 2, 5}},
		{"id IN (?, ?, ?)", []any{1, 3, "x"}, []int64{1, 3}},
		{"id NOT IN (?, ?)", []any{1, 3}, []int64{2, 4, 5}},
		{"id NOT IN (?, ?)", []any{1, nil}, nil}, // NOT IN with NULL: unknown for the rest
		{"city NOT IN (?)", []any{"Lyon"}, []int64{1, 2, 5}},
		{"id BETWEEN ? AND ?", []any{2, 4}, []int64{2, 3, 4}},
		{"id NOT BETWEEN ? AND ?", []any{2, 4}, []int64{1, 5}},
		{"fare BETWEEN ? AND ?", []any{nil, 100}, nil},                // unknown
		{"fare NOT BETWEEN ? AND ?", []any{nil, 5}, []int64{1, 2, 5}}, // false for those above 5: NOT is true
		{"id = ? OR id = ? AND city = ?", []any{1, 2, "x"}, []int64{1}},
		{"(id = ? OR id = ?) AND city = ?", []any{1, 2, "paris"}, []int64{2}},
		{"NOT (id < ? OR city IS NULL)", []any{3}, []int64{3, 5}},
		{"CITY = ?", []any{"Nice"}, []int64{5}}, // names case-insensitive
		{"id = ?", []any{true}, []int64{1}},     // true is 1, as in SQLite
	} {
		s, err := selection.Parse(tc.sel)
		require.NoError(t, err, tc.sel)
		match, err := s.Compile(selection.ColumnIndex(cols), tc.args)
		require.NoError(t, err, tc.sel)
		var got []int64
		for _, r := range rows {
			if match(r) {
				got = append(got, r[0].(int64))
			}
		}
		assert.Equal(t, tc.want, got, "%s %v", tc.sel, tc.args)
	}
}

func TestCompare(t *testing.T) {
	// Each value sorts strictly before the next.
	ordered := []any{nil, -1e300, int64(-1 << 63), int64(-1), 0.5, int64(1), int64(1<<53 + 1), 0x1p63,
		"", "B", "a", "é", []byte{}, []byte("a")}
	for i := range ordered {
		assert.Equal(t, 0, selection.Compare(ordered[i], ordered[i]), "%v", ordered[i])
		for j := i + 1; j < len(ordered); j++ {
			assert.Equal(t, -1, selection.Compare(ordered[i], ordered[j]), "%v < %v", ordered[i], ordered[j])
			assert.Equal(t, 1, selection.Compare(ordered[j], ordered[i]), "%v > %v", ordered[j], ordered[i])
		}
	}
	assert.Equal(t, 0, selection.Compare(int64(2), 2.0))
	assert.Equal(t, 1, selection.Compare(int64(1<<53+1), float64(1<<53)), "beyond 2^53, exactly")
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"Paris", "paris", true},
		{"Paris", "P%", true},
		{"Paris", "%S", true},
		{"Paris", "%ar%", true},
		{"Paris", "P_r_s", true},
		{"Paris", "P_ris_", false},
		{"Paris", "%", true},
		{"", "%", true},
		{"", "_", false},
		{"Zürich", "z_rich", true}, // _ is one character, not one byte
		{"ÉTÉ", "été", false},      // only ASCII folds
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%a%c", false},
		{"a%b", "a%b", true},
	} {
		s, err := selection.Parse("city LIKE ?")
		require.NoError(t, err)
		match, err := s.Compile(selection.ColumnIndex(cols), []any{tc.p})
		require.NoError(t, err)
		assert.Equal(t, tc.want, match([]any{nil, tc.s, nil, nil, nil}), "%q LIKE %q", tc.s, tc.p)
	}
}

func TestOrder(t *testing.T) {
	o, err := selection.ParseOrder("fare DESC, city asc, id")
	require.NoError(t, err)
	got, err := o.SQL(resolve)
	require.NoError(t, err)
	assert.Equal(t, `"fare" DESC, "city" ASC, "id"`, got)
	assert.Equal(t, selection.Order{{"fare", selection.Descending}, {"city", selection.Ascending}, {"id", selection.Unspecified}}, o)

	o, err = selection.ParseOrder(" ")
	require.NoError(t, err)
	assert.Nil(t, o)

	for _, s := range []string{"fare DESC;", "fare, ", "fare DESC NULLS LAST", "fare collate nocase", "and", "fare desc desc"} {
		_, err := selection.ParseOrder(s)
		assert.ErrorIs(t, err, content.ErrBadRequest, "%q", s)
	}
	for _, s := range []string{"random()", "1", "fare + 1"} { // valid SQL outside the grammar
		_, err := selection.ParseOrder(s)
		assert.ErrorIs(t, err, content.ErrUnsupported, "%q", s)
	}
	o, err = selection.ParseOrder("nope")
	require.NoError(t, err)
	_, err = o.SQL(resolve)
	assert.ErrorIs(t, err, content.ErrBadRequest)
	_, err = o.Compile(selection.ColumnIndex(cols))
	assert.ErrorIs(t, err, content.ErrBadRequest)

	o, err = selection.ParseOrder("city, fare DESC")
	require.NoError(t, err)
	less, err := o.Compile(selection.ColumnIndex(cols))
	require.NoError(t, err)
	a := []any{int64(1), "Lyon", 2.0, nil, nil}
	b := []any{int64(2), "Lyon", int64(3), nil, nil}
	c := []any{int64(3), nil, int64(9), nil, nil}
	assert.Equal(t, 1, less(a, b), "ties by fare, descending")
	assert.Equal(t, -1, less(b, a))
	assert.Equal(t, -1, less(c, a), "NULL first")
	assert.Equal(t, 0, less(a, a))
}
