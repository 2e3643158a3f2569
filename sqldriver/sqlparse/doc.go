// Package sqlparse reads the SQL that a cursorwindow provider's query
// model can express, for the database/sql driver (package sqldriver) and
// any other consumer that takes SQL from its users (a Flight SQL gateway).
//
// A provider answers a Query (a table or URI, a projection, a selection
// with ? arguments, an order, a limit) and the writes Insert, Update and
// Delete. Parse reads exactly the statements that say those things:
//
//	SELECT * | column {, column} FROM table [WHERE selection] [ORDER BY order] [LIMIT n | LIMIT ?]
//	INSERT INTO table (column {, column}) VALUES (? {, ?})
//	INSERT INTO table DEFAULT VALUES
//	UPDATE table SET column = ? {, column = ?} [WHERE selection]
//	DELETE FROM table [WHERE selection]
//
// with one optional trailing semicolon, keywords in any case, names bare
// or quoted ("x", `x`, [x]; a quoted name may hold any character, so a
// URI such as "content/trips" can be a table), -- and /* */ comments.
//
//	st, err := sqlparse.Parse("SELECT id, fare FROM trips WHERE city = ? ORDER BY fare DESC LIMIT 10")
//	q, noRows, err := st.Query([]any{"Lisbon"}) // a *content.Query
//
// The selection and the order are not interpreted: their text goes to
// the provider (Statement.Selection, Statement.Order), and the provider
// checks them against its own grammar and schema, as it checks every
// consumer's. Parse only finds where they end, counts their ?
// placeholders, and refuses subqueries in them.
//
// Literal values become arguments, never spliced: a string ('Lisbon'), a
// number (7, -1.5, 0x1F), a blob (X'00ff'), and in VALUES and SET also
// NULL, TRUE and FALSE, are bound as arguments of their own in their
// places among the ? placeholders (Query and Write do it), and the
// selection the provider gets has a ? where each was. So tools that send
// SQL text with its values in it (dashboards, notebooks, BI clients) work
// as programs that pass arguments do, and nothing a value holds can
// change the statement.
//
// Everything else is refused, never rewritten: joins, subqueries,
// aggregates and other functions, expressions and aliases in the select
// list, DISTINCT, GROUP BY, HAVING, compound queries (UNION...), OFFSET,
// WITH, transactions, schema changes, multiple statements, expressions
// where a value goes (VALUES, SET), numbered and named placeholders,
// upserts, RETURNING. The error is an *Error that
// names what is refused and where, and wraps ErrUnsupported (a valid
// statement the model cannot express) or ErrSyntax (not a statement).
// Those wrap content.ErrUnsupported and content.ErrBadRequest.
//
// # Why a parser of its own
//
// The subset is tiny, its errors must name what the model cannot do ("a
// statement reads one table"), and the selection must pass through
// untouched: a general SQL parser (vitess's, pingcap's, or a SQLite
// grammar) would accept far more than the model expresses, normalise the
// text it re-prints, report errors in its own dialect's terms, and bring
// a large dependency. This one is a tokenizer (token.go) and a
// recursive-descent parser (parse.go), with no dependency beyond the
// standard library and content's sentinels, fuzzed (FuzzParse: no input
// panics, and whatever parses renders with Statement.String and parses
// back identically).
//
// # Caveats
//
//   - Names are taken as written: the provider decides how they match its
//     schema (the SQLite example matches columns case-insensitively).
//   - A bare word that is a keyword of the subset (order, limit, values,
//     ...) is never a name: quote it ("order").
//   - LIMIT 0 selects no rows; a content.Query cannot say so (its 0 means
//     no limit), see Statement.Query.
package sqlparse
