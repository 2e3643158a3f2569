// Package selection is the one grammar of a query's selection and order,
// for providers: it parses a selection with ? arguments once, then
// evaluates it against a row's values (an in-memory provider) or renders
// it as SQL with placeholders and the provider's own column names (an SQL
// provider). A consumer's text is never spliced into SQL.
//
//	selection = term { "OR" term }
//	term      = factor { "AND" factor }
//	factor    = "NOT" factor | "(" selection ")" | column condition
//	condition = op "?" | [ "NOT" ] "LIKE" "?" | "IS" [ "NOT" ] "NULL"
//	          | [ "NOT" ] "IN" "(" "?" { "," "?" } ")"
//	          | [ "NOT" ] "BETWEEN" "?" "AND" "?"
//	op        = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	column    = name | '"' name '"'
//	order     = column [ "ASC" | "DESC" ] { "," column [ "ASC" | "DESC" ] }
//
// Keywords are case-insensitive; a bare column name cannot be one of
// AND, OR, NOT, IS, NULL, LIKE, IN, BETWEEN, ASC, DESC or SELECT (quote
// it: "order"). Parentheses and NOT nest at most 100 deep.
//
// Text that is not SQL is refused with an error wrapping
// content.ErrBadRequest; valid SQL outside the grammar (values written in
// the text, functions, subqueries, arithmetic, GLOB, comparing two
// columns) with one wrapping content.ErrUnsupported that names it.
//
// Usage, in an SQL provider:
//
//	sel, err := selection.Parse(q.Selection)
//	if err != nil { return nil, err }
//	where, err := sel.SQL(table.column) // "id" IN (?, ?) AND "fare" > ?
//
// and in an in-memory one:
//
//	match, err := sel.Compile(selection.ColumnIndex(cols), q.Args)
//	for _, row := range rows { if match(row) { ... } }
//
// Evaluation follows SQLite's rules: NULL sorts before numbers, numbers
// before strings, strings before blobs; integers and floats compare
// numerically; a comparison with NULL is neither true nor false (so
// "x != ?" does not select rows where x is NULL, nor does its NOT);
// LIKE folds ASCII case, % matches any run of characters and _ one.
//
// # Caveats
//
// A Selection and an Order are immutable once parsed and may be used by
// any number of goroutines. The functions Compile returns read the rows
// they are given and keep nothing; they are safe for concurrent use.
// Values are compared as they are, without SQLite's column affinity: the
// string "1" does not equal the integer 1.
package selection
