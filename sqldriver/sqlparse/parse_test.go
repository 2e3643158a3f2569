package sqlparse_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

func TestParse(t *testing.T) {
	tests := []struct {
		sql  string
		want sqlparse.Statement
		text string // the canonical rendering
	}{
		{"SELECT * FROM trips",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "trips", Limit: sqlparse.NoLimit},
			"SELECT * FROM trips"},
		{"select id, \"fare\" ,Tip from Trips;",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "Trips", Columns: []string{"id", "fare", "Tip"}, Limit: sqlparse.NoLimit},
			"SELECT id, fare, Tip FROM Trips"},
		{"SELECT ALL id FROM trips",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "trips", Columns: []string{"id"}, Limit: sqlparse.NoLimit},
			"SELECT id FROM trips"},
		{"SELECT id FROM trips WHERE city = ? AND (fare > ? OR tip IS NULL) ORDER BY fare DESC, id LIMIT 10",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "trips", Columns: []string{"id"},
				Where: "city = ? AND (fare > ? OR tip IS NULL)", WhereParams: 2, Order: "fare DESC, id", Limit: 10},
			"SELECT id FROM trips WHERE city = ? AND (fare > ? OR tip IS NULL) ORDER BY fare DESC, id LIMIT 10"},
		{"SELECT * FROM trips WHERE  note = 'ORDER BY ?' -- a comment\n  AND x=?  LIMIT ?  ",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "trips",
				Where: "note = 'ORDER BY ?' -- a comment\n  AND x=?", WhereParams: 1, Limit: sqlparse.NoLimit, LimitParam: true},
			"SELECT * FROM trips WHERE note = 'ORDER BY ?' -- a comment\n  AND x=? LIMIT ?"},
		{"SELECT * FROM trips LIMIT 0",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "trips", Limit: 0},
			"SELECT * FROM trips LIMIT 0"},
		{`SELECT "order", [a b], ` + "`x``y`" + `, "ünï""cødé" FROM "content/trips"`,
			sqlparse.Statement{Kind: sqlparse.Select, Table: "content/trips", Columns: []string{"order", "a b", "x`y", `ünï"cødé`}, Limit: sqlparse.NoLimit},
			`SELECT "order", "a b", "x` + "`" + `y", "ünï""cødé" FROM "content/trips"`},
		{"SELECT größe FROM städte",
			sqlparse.Statement{Kind: sqlparse.Select, Table: "städte", Columns: []string{"größe"}, Limit: sqlparse.NoLimit},
			`SELECT "größe" FROM "städte"`},
		{"/* lead */ INSERT INTO trips (city, fare) VALUES (?, ?)",
			sqlparse.Statement{Kind: sqlparse.Insert, Table: "trips", Columns: []string{"city", "fare"}, Limit: sqlparse.NoLimit},
			"INSERT INTO trips (city, fare) VALUES (?, ?)"},
		{"insert into trips default values",
			sqlparse.Statement{Kind: sqlparse.Insert, Table: "trips", Limit: sqlparse.NoLimit},
			"INSERT INTO trips DEFAULT VALUES"},
		{"UPDATE trips SET tip = ?, fare=? WHERE id = ?",
			sqlparse.Statement{Kind: sqlparse.Update, Table: "trips", Columns: []string{"tip", "fare"}, Where: "id = ?", WhereParams: 1, Limit: sqlparse.NoLimit},
			"UPDATE trips SET tip = ?, fare = ? WHERE id = ?"},
		{"DELETE FROM trips",
			sqlparse.Statement{Kind: sqlparse.Delete, Table: "trips", Limit: sqlparse.NoLimit},
			"DELETE FROM trips"},
		{"DELETE FROM trips WHERE id > ? ;",
			sqlparse.Statement{Kind: sqlparse.Delete, Table: "trips", Where: "id > ?", WhereParams: 1, Limit: sqlparse.NoLimit},
			"DELETE FROM trips WHERE id > ?"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			st, err := sqlparse.Parse(tt.sql)
			require.NoError(t, err)
			assert.Equal(t, tt.want, exported(st))
			assert.Equal(t, tt.text, st.String())
			again, err := sqlparse.Parse(st.String())
			require.NoError(t, err)
			assert.Equal(t, st, again)
		})
	}
}

// exported returns the exported fields of st.
func exported(st *sqlparse.Statement) sqlparse.Statement {
	return sqlparse.Statement{Kind: st.Kind, Table: st.Table, Columns: st.Columns, Where: st.Where,
		WhereParams: st.WhereParams, Order: st.Order, Limit: st.Limit, LimitParam: st.LimitParam}
}

// Literal values written in a statement are bound as arguments of their
// own, in their places among the caller's: the provider gets ? and the
// value, never the value spliced in. Tools that send SQL text (dashboards,
// notebooks, BI clients) write literals.
func TestLiterals(t *testing.T) {
	for _, tt := range []struct {
		sql       string
		args      []any // the caller's
		selection string
		whereArgs []any
		values    content.Values // INSERT, UPDATE
		text      string         // the canonical rendering
	}{
		{sql: "SELECT id FROM trips WHERE city = 'Lisbon' AND fare > ? AND tip < 2.5 AND note = 'it''s'", args: []any{50.0},
			selection: "city = ? AND fare > ? AND tip < ? AND note = ?", whereArgs: []any{"Lisbon", 50.0, 2.5, "it's"}},
		{sql: "SELECT id FROM trips WHERE id IN (1, -2, 0x10) OR fare BETWEEN -1.5e1 AND +3",
			selection: "id IN (?, ?, ?) OR fare BETWEEN ? AND ?", whereArgs: []any{int64(1), int64(-2), int64(16), -15.0, int64(3)}},
		{sql: "SELECT id FROM trips WHERE id-1 = 2", selection: "id-? = ?", whereArgs: []any{int64(1), int64(2)}},
		{sql: "SELECT id FROM trips WHERE route_hash = X'00ff' AND tip IS NULL", selection: "route_hash = ? AND tip IS NULL", whereArgs: []any{[]byte{0, 0xff}}},
		{sql: "SELECT id FROM trips WHERE n = 99999999999999999999", selection: "n = ?", whereArgs: []any{1e20}},
		{sql: "INSERT INTO trips (city, fare, tip, hash, n) VALUES ('Paris', ?, NULL, X'AB', -7)", args: []any{12.5},
			values: content.Values{"city": "Paris", "fare": 12.5, "tip": nil, "hash": []byte{0xab}, "n": int64(-7)},
			text:   "INSERT INTO trips (city, fare, tip, hash, n) VALUES ('Paris', ?, NULL, X'ab', -7)"},
		{sql: "UPDATE trips SET tip = 1.5, city = ? WHERE id = 7", args: []any{"Rome"},
			values: content.Values{"tip": 1.5, "city": "Rome"}, selection: "id = ?", whereArgs: []any{int64(7)},
			text: "UPDATE trips SET tip = 1.5, city = ? WHERE id = 7"},
		{sql: "UPDATE trips SET tip = 2, flag = TRUE", values: content.Values{"tip": int64(2), "flag": int64(1)},
			text: "UPDATE trips SET tip = 2, flag = 1"},
		{sql: "DELETE FROM trips WHERE city = 'Oslo'", selection: "city = ?", whereArgs: []any{"Oslo"}},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			st, err := sqlparse.Parse(tt.sql)
			require.NoError(t, err)
			assert.Equal(t, len(tt.args), st.NumParams(), "the caller's arguments")
			assert.Equal(t, tt.selection, st.Selection())
			if st.Kind == sqlparse.Select {
				q, _, err := st.Query(tt.args)
				require.NoError(t, err)
				assert.Equal(t, tt.selection, q.Selection)
				assert.Equal(t, tt.whereArgs, q.Args)
			} else {
				values, where, err := st.Write(tt.args)
				require.NoError(t, err)
				if st.Kind != sqlparse.Delete {
					assert.Equal(t, tt.values, values)
				}
				assert.Equal(t, tt.whereArgs, where)
			}
			if tt.text != "" {
				assert.Equal(t, tt.text, st.String())
			}
			again, err := sqlparse.Parse(st.String())
			require.NoError(t, err)
			assert.Equal(t, st, again, "%s renders as %s", tt.sql, st.String())
		})
	}
	_, err := sqlparse.Parse("SELECT id FROM trips WHERE n = 1e999")
	require.ErrorIs(t, err, sqlparse.ErrSyntax)
}

// TestRefused checks that what the query model cannot express is refused
// by name, and what is not SQL of the subset is a syntax error.
func TestRefused(t *testing.T) {
	tests := []struct {
		sql  string
		err  error  // ErrUnsupported or ErrSyntax
		what string // the Error's What
	}{
		{"SELECT * FROM trips JOIN cities ON trips.city = cities.name", sqlparse.ErrUnsupported, "joins (JOIN)"},
		{"SELECT * FROM trips LEFT JOIN cities USING (city)", sqlparse.ErrUnsupported, "joins (LEFT)"},
		{"SELECT * FROM trips, cities", sqlparse.ErrUnsupported, "joins (a list of tables)"},
		{"SELECT * FROM (SELECT * FROM trips)", sqlparse.ErrUnsupported, "subqueries"},
		{"SELECT * FROM trips WHERE city IN (SELECT name FROM cities)", sqlparse.ErrUnsupported, "subqueries"},
		{"SELECT (SELECT 1) FROM trips", sqlparse.ErrUnsupported, "subqueries"},
		{"SELECT count(*) FROM trips", sqlparse.ErrUnsupported, "aggregate functions (COUNT)"},
		{"SELECT city, SUM(fare) FROM trips GROUP BY city", sqlparse.ErrUnsupported, "aggregate functions (SUM)"},
		{"SELECT city FROM trips GROUP BY city", sqlparse.ErrUnsupported, "GROUP BY"},
		{"SELECT city FROM trips WHERE fare > ? HAVING city = ?", sqlparse.ErrUnsupported, "HAVING"},
		{"SELECT lower(city) FROM trips", sqlparse.ErrUnsupported, "functions (LOWER)"},
		{"SELECT DISTINCT city FROM trips", sqlparse.ErrUnsupported, "DISTINCT"},
		{"SELECT id FROM trips UNION SELECT id FROM cities", sqlparse.ErrUnsupported, "compound queries (UNION)"},
		{"SELECT id FROM trips WHERE id < ? EXCEPT SELECT id FROM trips", sqlparse.ErrUnsupported, "compound queries (EXCEPT)"},
		{"SELECT id FROM trips LIMIT 10 OFFSET 5", sqlparse.ErrUnsupported, "OFFSET"},
		{"SELECT id FROM trips LIMIT 5, 10", sqlparse.ErrUnsupported, "OFFSET"},
		{"SELECT id AS trip FROM trips", sqlparse.ErrUnsupported, "column aliases"},
		{"SELECT id trip FROM trips", sqlparse.ErrUnsupported, "column aliases"},
		{"SELECT t.id FROM trips t", sqlparse.ErrUnsupported, "qualified column names"},
		{"SELECT id FROM trips t", sqlparse.ErrUnsupported, "table aliases"},
		{"SELECT id FROM main.trips", sqlparse.ErrUnsupported, "qualified table names"},
		{"SELECT id + 1 FROM trips", sqlparse.ErrUnsupported, "expressions in the select list"},
		{"SELECT 1 FROM trips", sqlparse.ErrUnsupported, "literals in the select list"},
		{"SELECT *, id FROM trips", sqlparse.ErrUnsupported, "columns besides *"},
		{"SELECT id, * FROM trips", sqlparse.ErrUnsupported, "columns besides *"},
		{"SELECT * FROM trips WHERE id = :id", sqlparse.ErrUnsupported, "numbered and named placeholders (:id)"},
		{"SELECT * FROM trips WHERE id = ?1", sqlparse.ErrUnsupported, "numbered and named placeholders (?1)"},
		{"SELECT * FROM trips ORDER BY ?", sqlparse.ErrUnsupported, "placeholders in ORDER BY"},
		{"SELECT * FROM trips; DELETE FROM trips", sqlparse.ErrUnsupported, "multiple statements"},
		{"BEGIN", sqlparse.ErrUnsupported, "transactions (BEGIN)"},
		{"commit", sqlparse.ErrUnsupported, "transactions (COMMIT)"},
		{"ROLLBACK", sqlparse.ErrUnsupported, "transactions (ROLLBACK)"},
		{"WITH t AS (SELECT 1) SELECT * FROM t", sqlparse.ErrUnsupported, "common table expressions (WITH)"},
		{"CREATE TABLE x (a)", sqlparse.ErrUnsupported, "schema changes (CREATE)"},
		{"PRAGMA table_info(trips)", sqlparse.ErrUnsupported, "PRAGMA statements"},
		{"REPLACE INTO trips (id) VALUES (?)", sqlparse.ErrUnsupported, "REPLACE"},
		{"INSERT INTO trips (fare) VALUES (? * 2)", sqlparse.ErrUnsupported, "expressions in VALUES"},
		{"INSERT INTO trips (fare) VALUES (abs(?))", sqlparse.ErrUnsupported, "expressions in VALUES"},
		{"INSERT INTO trips (fare) VALUES (?), (?)", sqlparse.ErrUnsupported, "multi-row INSERT"},
		{"INSERT INTO trips VALUES (?, ?)", sqlparse.ErrUnsupported, "INSERT without a column list"},
		{"INSERT INTO trips (id) SELECT id FROM cities", sqlparse.ErrUnsupported, "INSERT … SELECT"},
		{"INSERT OR REPLACE INTO trips (id) VALUES (?)", sqlparse.ErrUnsupported, "INSERT OR REPLACE"},
		{"INSERT INTO trips (id) VALUES (?) ON CONFLICT DO NOTHING", sqlparse.ErrUnsupported, "upserts (ON CONFLICT)"},
		{"INSERT INTO trips (id) VALUES (?) RETURNING id", sqlparse.ErrUnsupported, "RETURNING"},
		{"UPDATE trips SET tip = 5 + ?", sqlparse.ErrUnsupported, "expressions in SET"},
		{"UPDATE trips SET tip = tip + ?", sqlparse.ErrUnsupported, "expressions in SET"},
		{"UPDATE trips SET (tip, fare) = (?, ?)", sqlparse.ErrUnsupported, "assignments of several columns at once"},
		{"UPDATE trips SET tip = ? FROM cities", sqlparse.ErrUnsupported, "UPDATE … FROM"},
		{"UPDATE trips SET tip = ? WHERE id = ? LIMIT 1", sqlparse.ErrUnsupported, "LIMIT in UPDATE"},
		{"DELETE FROM trips ORDER BY id", sqlparse.ErrUnsupported, "ORDER BY in DELETE"},
		{"UPDATE OR IGNORE trips SET tip = ?", sqlparse.ErrUnsupported, "UPDATE OR IGNORE"},

		{"", sqlparse.ErrSyntax, "empty statement"},
		{"SELEC * FROM trips", sqlparse.ErrSyntax, "want SELECT, INSERT, UPDATE or DELETE, found SELEC"},
		{"SELECT * trips", sqlparse.ErrSyntax, "want FROM, found TRIPS"},
		{"SELECT * FROM", sqlparse.ErrSyntax, "want a table, found the end"},
		{"SELECT * FROM order", sqlparse.ErrSyntax, `want a table, found the keyword ORDER (quote a name that is a keyword: "order")`},
		{"SELECT * FROM trips WHERE", sqlparse.ErrSyntax, "WHERE without anything after it"},
		{"SELECT * FROM trips WHERE (a = ?", sqlparse.ErrSyntax, "unclosed ( in WHERE"},
		{"SELECT * FROM trips WHERE a = ?)", sqlparse.ErrSyntax, "unbalanced ) in WHERE"},
		{"SELECT * FROM trips WHERE a = 'x", sqlparse.ErrSyntax, "unterminated string"},
		{"SELECT * FROM trips /* x", sqlparse.ErrSyntax, "unterminated /* comment"},
		{"SELECT * FROM trips LIMIT x", sqlparse.ErrSyntax, "LIMIT X: want a whole number, or ?"},
		{"SELECT * FROM trips LIMIT 99999999999999999999", sqlparse.ErrSyntax, "LIMIT 99999999999999999999: want a whole number up to 9223372036854775807, or ?"},
		{"SELECT * FROM trips LIMIT 5 WHERE a = ?", sqlparse.ErrSyntax, "WHERE out of place (the order is WHERE, ORDER BY, LIMIT)"},
		{"SELECT * FROM trips WHERE a = 12ab", sqlparse.ErrSyntax, "malformed number"},
		{"INSERT INTO trips (a, a) VALUES (?, ?)", sqlparse.ErrSyntax, "column a named twice"},
		{"INSERT INTO trips (a, b) VALUES (?)", sqlparse.ErrSyntax, "2 columns but 1 values"},
		{"UPDATE trips SET a = ?, a = ?", sqlparse.ErrSyntax, "column a set twice"},
		{"SELECT \xff FROM trips", sqlparse.ErrSyntax, "invalid UTF-8"},
		{`SELECT "" FROM trips`, sqlparse.ErrSyntax, "empty quoted name"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			st, err := sqlparse.Parse(tt.sql)
			require.Error(t, err, "parsed as %+v", st)
			require.ErrorIs(t, err, tt.err)
			var pe *sqlparse.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.what, pe.What)
			assert.GreaterOrEqual(t, pe.Offset, 0)
			assert.LessOrEqual(t, pe.Offset, len(tt.sql))
			if errors.Is(tt.err, sqlparse.ErrUnsupported) {
				assert.ErrorIs(t, err, content.ErrUnsupported)
			} else {
				assert.ErrorIs(t, err, content.ErrBadRequest)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, err := sqlparse.Parse("SELECT * FROM trips JOIN cities")
	assert.EqualError(t, err, "sqlparse: not supported: joins (JOIN) at offset 20 (a statement reads one table)")
	_, err = sqlparse.Parse("SELECT * trips")
	assert.EqualError(t, err, "sqlparse: syntax error: want FROM, found TRIPS at offset 9")
}

func TestBind(t *testing.T) {
	st, err := sqlparse.Parse("SELECT id FROM trips WHERE city = ? AND fare > ? ORDER BY fare LIMIT ?")
	require.NoError(t, err)
	assert.Equal(t, 3, st.NumParams())
	q, noRows, err := st.Query([]any{"Paris", 10.5, int32(7)})
	require.NoError(t, err)
	assert.False(t, noRows)
	assert.Equal(t, &content.Query{URI: "trips", Projection: []string{"id"}, Selection: "city = ? AND fare > ?",
		Args: []any{"Paris", 10.5}, Order: "fare", Limit: 7}, q)

	_, noRows, err = st.Query([]any{"Paris", 10.5, 0})
	require.NoError(t, err)
	assert.True(t, noRows, "LIMIT 0")
	for _, bad := range []any{-1, 2.5, "3", nil} {
		_, _, err = st.Query([]any{"Paris", 10.5, bad})
		assert.ErrorIs(t, err, content.ErrBadRequest, "LIMIT %v", bad)
	}
	_, _, err = st.Query([]any{"Paris"})
	assert.ErrorIs(t, err, content.ErrBadRequest)

	st, err = sqlparse.Parse("SELECT * FROM trips LIMIT 0")
	require.NoError(t, err)
	q, noRows, err = st.Query(nil)
	require.NoError(t, err)
	assert.True(t, noRows)
	assert.Equal(t, int64(1), q.Limit)

	st, err = sqlparse.Parse("UPDATE trips SET tip = ?, fare = ? WHERE id = ?")
	require.NoError(t, err)
	values, where, err := st.Write([]any{1.5, nil, 42})
	require.NoError(t, err)
	assert.Equal(t, content.Values{"tip": 1.5, "fare": nil}, values)
	assert.Equal(t, []any{42}, where)
	_, _, err = st.Query([]any{1.5, nil, 42})
	assert.ErrorIs(t, err, content.ErrBadRequest, "an UPDATE is not a query")

	st, err = sqlparse.Parse("DELETE FROM trips")
	require.NoError(t, err)
	values, where, err = st.Write(nil)
	require.NoError(t, err)
	assert.Nil(t, values)
	assert.Nil(t, where)
}
