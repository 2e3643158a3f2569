package sqlparse

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of a statement.
type Kind uint8

// The statements of the subset.
const (
	Select Kind = iota + 1
	Insert
	Update
	Delete
)

// String returns the statement's keyword.
func (k Kind) String() string {
	switch k {
	case Select:
		return "SELECT"
	case Insert:
		return "INSERT"
	case Update:
		return "UPDATE"
	case Delete:
		return "DELETE"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// NoLimit is Statement.Limit when the statement has no LIMIT literal.
const NoLimit = -1

// Statement is one parsed statement: the parts of a content.Query or of a
// write.
type Statement struct {
	Kind Kind
	// Table is the table named after FROM, INTO or UPDATE: the provider's
	// URI. A quoted name ("content/trips") is taken without its quotes.
	Table string
	// Columns are, for SELECT, the projection (nil for *); for INSERT,
	// the columns given values (nil for DEFAULT VALUES); for UPDATE, the
	// columns SET, in order; nil for DELETE. Quoted names are taken
	// without their quotes, bare names as written.
	Columns []string
	// Where is the selection: the text between WHERE and the next clause,
	// verbatim (comments inside kept, surrounding space dropped); "" for
	// none. The provider checks it, as Selection returns it: with every
	// literal value a placeholder.
	Where string
	// WhereParams is the number of ? placeholders in Where: the arguments
	// it takes (its literals are bound by the statement itself).
	WhereParams int
	// Order is the text after ORDER BY, verbatim; "" for none. SELECT
	// only.
	Order string
	// Limit is the LIMIT literal, or NoLimit (also with LIMIT ?).
	Limit int64
	// LimitParam reports LIMIT ?: the limit is the last argument.
	LimitParam bool

	// sets are INSERT's VALUES or UPDATE's SET, a slot per column; nil
	// when every one is ?.
	sets []slot
	// selection is Where with its literals replaced by ?, and
	// whereSlots its placeholders in order; both unset when Where has
	// no literal.
	selection  string
	whereSlots []slot
	// whereCols are, for each ? of Where, the column named last before
	// it (col = ?, col IN (?, ?), col BETWEEN ? AND ?); "" if none.
	whereCols []string
}

// Selection returns the selection the provider gets: Where, with every
// literal value in it a ? placeholder (Query and Write bind the values).
func (s *Statement) Selection() string {
	if s.whereSlots != nil {
		return s.selection
	}
	return s.Where
}

// NumParams returns the number of ? placeholders, which is the number of
// arguments the statement takes: the values of INSERT's VALUES or
// UPDATE's SET first, then those of WHERE, then LIMIT's.
func (s *Statement) NumParams() int {
	n := s.WhereParams
	switch {
	case s.sets != nil:
		n += params(s.sets)
	case s.Kind == Insert || s.Kind == Update:
		n += len(s.Columns)
	}
	if s.LimitParam {
		n++
	}
	return n
}

// ParamColumns returns, for each ? placeholder in order (NumParams of
// them), the column its value is for: a column of VALUES or SET; in
// WHERE, the column named last before it (col = ?, col IN (?, ?), col
// BETWEEN ? AND ?), "" if none; "" for LIMIT's. It is a hint (a
// parameter's likely type), not a parse of the selection.
func (s *Statement) ParamColumns() []string {
	out := make([]string, 0, s.NumParams())
	if s.Kind == Insert || s.Kind == Update {
		for i, c := range s.Columns {
			if s.sets == nil || !s.sets[i].lit {
				out = append(out, c)
			}
		}
	}
	out = append(out, s.whereCols...)
	if s.LimitParam {
		out = append(out, "")
	}
	return out
}

// String renders the statement in a canonical form that Parse reads back
// into an identical Statement: keywords in upper case, names quoted when
// they are not plain words, Where and Order as they were written.
func (s *Statement) String() string {
	var b strings.Builder
	switch s.Kind {
	case Select:
		b.WriteString("SELECT ")
		if s.Columns == nil {
			b.WriteString("*")
		}
		writeNames(&b, s.Columns)
		b.WriteString(" FROM ")
		b.WriteString(quoteName(s.Table))
	case Insert:
		b.WriteString("INSERT INTO ")
		b.WriteString(quoteName(s.Table))
		if s.Columns == nil {
			b.WriteString(" DEFAULT VALUES")
			break
		}
		b.WriteString(" (")
		writeNames(&b, s.Columns)
		b.WriteString(") VALUES (")
		for i := range s.Columns {
			if i > 0 {
				b.WriteString(", ")
			}
			s.writeSet(&b, i)
		}
		b.WriteString(")")
	case Update:
		b.WriteString("UPDATE ")
		b.WriteString(quoteName(s.Table))
		b.WriteString(" SET ")
		for i, c := range s.Columns {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteName(c))
			b.WriteString(" = ")
			s.writeSet(&b, i)
		}
	case Delete:
		b.WriteString("DELETE FROM ")
		b.WriteString(quoteName(s.Table))
	}
	if s.Where != "" {
		b.WriteString(" WHERE ")
		b.WriteString(s.Where)
	}
	if s.Order != "" {
		b.WriteString(" ORDER BY ")
		b.WriteString(s.Order)
	}
	switch {
	case s.LimitParam:
		b.WriteString(" LIMIT ?")
	case s.Limit != NoLimit:
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.FormatInt(s.Limit, 10))
	}
	return b.String()
}

// writeSet writes the value of column i of VALUES or SET: ?, or its
// literal.
func (s *Statement) writeSet(b *strings.Builder, i int) {
	if s.sets != nil && s.sets[i].lit {
		render(b, s.sets[i].v)
		return
	}
	b.WriteString("?")
}

func writeNames(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteName(n))
	}
}

// quoteName returns name as written in a statement: bare if it is a plain
// word that is not reserved, else in double quotes.
func quoteName(name string) string {
	plain := name != "" && !isDigit(name[0]) && !reserved[strings.ToUpper(name)]
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c)
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// reserved are the words that are never bare names here: the keywords of
// the subset, and those whose presence means SQL the subset refuses.
// Quote a column or table of such a name ("order").
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		ALL AND AS ASC BEGIN BETWEEN BY CASE CAST COLLATE COMMIT CROSS DEFAULT DELETE
		DESC DISTINCT ELSE END ESCAPE EXCEPT EXISTS FALSE FOR FROM FULL GLOB GROUP HAVING IN
		INDEXED INNER INSERT INTERSECT INTO IS ISNULL JOIN LEFT LIKE LIMIT MATCH NATURAL
		NOT NOTNULL NULL OFFSET ON OR ORDER OUTER REGEXP RETURNING RIGHT ROLLBACK
		SELECT SET THEN TRUE UNION UPDATE USING VALUES WHEN WHERE WINDOW WITH`) {
		m[w] = true
	}
	return m
}()

// aggregates are the aggregate functions refused by name.
var aggregates = map[string]bool{
	"AVG": true, "COUNT": true, "GROUP_CONCAT": true, "MAX": true, "MIN": true,
	"STRING_AGG": true, "SUM": true, "TOTAL": true,
}

// parser walks the tokens of one statement.
type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

// ahead returns the token n places after the current one (tEOF past
// the end); n >= 0.
func (p *parser) ahead(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// accept consumes the keyword kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

// expect consumes the keyword or punctuation want, or fails.
func (p *parser) expect(want string) error {
	t := p.peek()
	if t.is(want) || t.punct(want) {
		p.i++
		return nil
	}
	return syntax(t.pos, "want %s, found %s", want, t.describe())
}

// Parse parses one statement of the subset:
//
//	SELECT * | column {, column} FROM table [WHERE selection] [ORDER BY order] [LIMIT n | LIMIT ?]
//	INSERT INTO table (column {, column}) VALUES (? {, ?})
//	INSERT INTO table DEFAULT VALUES
//	UPDATE table SET column = ? {, column = ?} [WHERE selection]
//	DELETE FROM table [WHERE selection]
//
// optionally ended by one semicolon. See the package documentation for
// what is refused. Errors are *Error values wrapping ErrUnsupported or
// ErrSyntax.
func Parse(sql string) (*Statement, error) {
	if !utf8.ValidString(sql) {
		return nil, syntax(invalidUTF8(sql), "invalid UTF-8")
	}
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	p := &parser{src: sql, toks: toks}
	t := p.peek()
	var st *Statement
	switch {
	case t.is("SELECT"):
		st, err = p.selectStmt()
	case t.is("INSERT"):
		st, err = p.insertStmt()
	case t.is("UPDATE"):
		st, err = p.updateStmt()
	case t.is("DELETE"):
		st, err = p.deleteStmt()
	default:
		return nil, p.refuseStatement(t)
	}
	if err != nil {
		return nil, err
	}
	if err := p.end(st.Kind); err != nil {
		return nil, err
	}
	if params(st.sets) == len(st.sets) {
		st.sets = nil // only ?: nothing to bind but the arguments
	}
	return st, nil
}

func invalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			return i
		}
	}
	return 0
}

// refuseStatement explains why a statement that does not start with
// SELECT, INSERT, UPDATE or DELETE is refused.
func (p *parser) refuseStatement(t token) error {
	switch kw := strings.ToUpper(t.text); {
	case t.kind == tEOF:
		return syntax(t.pos, "empty statement")
	case t.kind != tWord:
	case kw == "BEGIN" || kw == "COMMIT" || kw == "END" || kw == "ROLLBACK" || kw == "SAVEPOINT" || kw == "RELEASE":
		return unsupported(t.pos, "transactions ("+kw+")", "use database/sql's Begin: the driver sends a transaction's writes as one batch at Commit")
	case kw == "WITH":
		return unsupported(t.pos, "common table expressions (WITH)", "")
	case kw == "REPLACE":
		return unsupported(t.pos, "REPLACE", "use INSERT, or UPDATE")
	case kw == "CREATE" || kw == "DROP" || kw == "ALTER":
		return unsupported(t.pos, "schema changes ("+kw+")", "the provider owns the schema")
	case kw == "VALUES" || kw == "PRAGMA" || kw == "EXPLAIN" || kw == "ATTACH" || kw == "DETACH" ||
		kw == "VACUUM" || kw == "ANALYZE" || kw == "REINDEX":
		return unsupported(t.pos, kw+" statements", "")
	}
	return syntax(t.pos, "want SELECT, INSERT, UPDATE or DELETE, found %s", t.describe())
}

// end checks what follows a complete statement: nothing, or one
// semicolon.
func (p *parser) end(kind Kind) error {
	t := p.next()
	if t.punct(";") {
		if t2 := p.peek(); t2.kind != tEOF {
			return unsupported(t2.pos, "multiple statements", "run one statement per call")
		}
		return nil
	}
	if t.kind == tEOF {
		return nil
	}
	kw := strings.ToUpper(t.text)
	switch {
	case t.kind != tWord && !t.punct(","):
		// a syntax error, below
	case kw == "UNION" || kw == "INTERSECT" || kw == "EXCEPT":
		return unsupported(t.pos, "compound queries ("+kw+")", "run each query separately")
	case kw == "GROUP":
		return unsupported(t.pos, "GROUP BY", "aggregate the rows as you read them")
	case kw == "HAVING":
		return unsupported(t.pos, "HAVING", "")
	case kw == "WINDOW":
		return unsupported(t.pos, "window definitions (WINDOW)", "")
	case kw == "OFFSET" || t.punct(",") && kind == Select: // only LIMIT n leaves a comma here
		return unsupported(t.pos, "OFFSET", "the query model has a limit, no offset: select from a key with WHERE instead")
	case kw == "RETURNING":
		return unsupported(t.pos, "RETURNING", "")
	case kw == "ON":
		return unsupported(t.pos, "upserts (ON CONFLICT)", "")
	case kw == "FOR":
		return unsupported(t.pos, "locking clauses (FOR)", "")
	case kw == "ORDER" && kind != Select:
		return unsupported(t.pos, "ORDER BY in "+kind.String(), "")
	case kw == "LIMIT" && kind != Select:
		return unsupported(t.pos, "LIMIT in "+kind.String(), "")
	case (kw == "WHERE" || kw == "ORDER" || kw == "LIMIT") && kind == Select:
		return syntax(t.pos, "%s out of place (the order is WHERE, ORDER BY, LIMIT)", kw)
	}
	return syntax(t.pos, "unexpected %s after the statement", t.describe())
}

// name reads a table or column name: a bare word that is not reserved, or
// a quoted name. what names it for errors ("a table").
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tQuoted:
	case t.kind == tWord && !reserved[strings.ToUpper(t.text)]:
	case t.kind == tWord:
		return "", syntax(t.pos, "want %s, found the keyword %s (quote a name that is a keyword: \"%s\")", what, t.describe(), t.text)
	default:
		return "", syntax(t.pos, "want %s, found %s", what, t.describe())
	}
	p.i++
	return t.text, nil
}

// table reads the table of a statement of kind and refuses what would
// make it more than one table.
func (p *parser) table(kind Kind) (string, error) {
	t := p.peek()
	if t.punct("(") {
		if p.ahead(1).is("SELECT") || p.ahead(1).is("WITH") {
			return "", unsupported(t.pos, "subqueries", "a statement reads one table")
		}
		return "", syntax(t.pos, "want a table, found (")
	}
	name, err := p.name("a table")
	if err != nil {
		return "", err
	}
	t = p.peek()
	kw := strings.ToUpper(t.text)
	switch {
	case t.punct(","):
		return "", unsupported(t.pos, "joins (a list of tables)", "a statement reads one table")
	case t.kind == tWord && (kw == "JOIN" || kw == "INNER" || kw == "LEFT" || kw == "RIGHT" ||
		kw == "FULL" || kw == "CROSS" || kw == "NATURAL" || kw == "OUTER"):
		return "", unsupported(t.pos, "joins ("+kw+")", "a statement reads one table")
	case t.punct("."):
		return "", unsupported(t.pos, "qualified table names", `quote a name that has a dot: "a.b"`)
	case t.punct("(") && kind != Insert: // INSERT's column list
		return "", unsupported(t.pos, "table-valued functions", "")
	case t.is("AS") || t.kind == tQuoted || t.kind == tWord && !reserved[kw]:
		return "", unsupported(t.pos, "table aliases", "")
	case t.is("INDEXED") || t.is("NOT") && p.ahead(1).is("INDEXED"):
		return "", unsupported(t.pos, "INDEXED BY", "")
	}
	return name, nil
}

func (p *parser) selectStmt() (*Statement, error) {
	p.next() // SELECT
	st := &Statement{Kind: Select, Limit: NoLimit}
	switch t := p.peek(); {
	case t.is("DISTINCT"):
		return nil, unsupported(t.pos, "DISTINCT", "")
	case t.is("ALL"): // the default
		p.next()
	}
	if p.peek().punct("*") {
		p.next()
		if t := p.peek(); t.punct(",") {
			return nil, unsupported(t.pos, "columns besides *", "name every column, or select *")
		}
	} else {
		for {
			col, err := p.selectColumn()
			if err != nil {
				return nil, err
			}
			st.Columns = append(st.Columns, col)
			if !p.peek().punct(",") {
				break
			}
			p.next()
		}
	}
	if err := p.expect("FROM"); err != nil {
		return nil, err
	}
	var err error
	if st.Table, err = p.table(st.Kind); err != nil {
		return nil, err
	}
	if err := p.where(st); err != nil {
		return nil, err
	}
	if t := p.peek(); t.is("ORDER") {
		p.next()
		if err := p.expect("BY"); err != nil {
			return nil, err
		}
		if st.Order, _, err = p.clause("ORDER BY", false); err != nil {
			return nil, err
		}
	}
	if p.accept("LIMIT") {
		t := p.next()
		switch {
		case t.kind == tParam:
			st.LimitParam = true
		case t.kind == tNumber:
			n, err := strconv.ParseInt(t.text, 10, 64)
			if err != nil {
				return nil, syntax(t.pos, "LIMIT %s: want a whole number up to %d, or ?", t.text, int64(1<<63-1))
			}
			st.Limit = n
		default:
			return nil, syntax(t.pos, "LIMIT %s: want a whole number, or ?", t.describe())
		}
	}
	return st, nil
}

// selectColumn reads one column of a select list and refuses everything
// that is not a plain column.
func (p *parser) selectColumn() (string, error) {
	t := p.peek()
	switch {
	case t.punct("*"):
		return "", unsupported(t.pos, "columns besides *", "name every column, or select *")
	case t.punct("(") && (p.ahead(1).is("SELECT") || p.ahead(1).is("WITH")):
		return "", unsupported(t.pos, "subqueries", "a statement reads one table")
	case t.kind == tString || t.kind == tNumber || t.is("NULL") || t.is("TRUE") || t.is("FALSE"):
		return "", unsupported(t.pos, "literals in the select list", "select columns only")
	case t.kind == tParam || t.kind == tNamed:
		return "", unsupported(t.pos, "placeholders in the select list", "select columns only")
	case t.kind == tWord && p.ahead(1).punct("("):
		if fn := strings.ToUpper(t.text); aggregates[fn] {
			return "", unsupported(t.pos, "aggregate functions ("+fn+")", "aggregate the rows as you read them")
		}
		return "", unsupported(t.pos, "functions ("+strings.ToUpper(t.text)+")", "select columns only")
	case t.kind == tPunct || t.is("CASE") || t.is("CAST") || t.is("NOT") || t.is("EXISTS"):
		return "", unsupported(t.pos, "expressions in the select list", "select columns only")
	}
	name, err := p.name("a column")
	if err != nil {
		return "", err
	}
	switch t := p.peek(); {
	case t.punct(",") || t.is("FROM"):
		return name, nil
	case t.punct("."):
		return "", unsupported(t.pos, "qualified column names", `a statement reads one table; quote a name that has a dot: "a.b"`)
	case t.is("AS") || t.kind == tQuoted || t.kind == tWord && !reserved[strings.ToUpper(t.text)]:
		return "", unsupported(t.pos, "column aliases", "")
	case t.kind == tPunct || t.is("COLLATE") || t.is("IS") || t.is("NOT") || t.is("IN") || t.is("LIKE") || t.is("BETWEEN"):
		return "", unsupported(t.pos, "expressions in the select list", "select columns only")
	}
	return name, nil // FROM is expected next
}

// clause reads the text of a WHERE or ORDER BY clause up to the next
// clause of the statement (a keyword at parenthesis depth 0, a semicolon
// or the end) and returns it verbatim with its number of ? placeholders.
// Subqueries are refused anywhere in it; placeholders only where params.
func (p *parser) clause(what string, params bool) (string, int, error) {
	first := p.peek()
	depth, n, count := 0, 0, 0
	last := first
loop:
	for {
		t := p.peek()
		switch {
		case t.kind == tEOF || t.punct(";"):
			break loop
		case t.punct("("):
			depth++
		case t.punct(")"):
			if depth == 0 {
				return "", 0, syntax(t.pos, "unbalanced ) in %s", what)
			}
			depth--
		case t.is("SELECT") || t.is("WITH"):
			return "", 0, unsupported(t.pos, "subqueries", "a statement reads one table")
		case t.kind == tNamed:
			return "", 0, unsupported(t.pos, "numbered and named placeholders ("+t.text+")", "write ? and pass the arguments in order")
		case t.kind == tParam && !params:
			return "", 0, unsupported(t.pos, "placeholders in "+what, "")
		case t.kind == tParam:
			n++
		case depth == 0 && t.kind == tWord && clauseEnd[strings.ToUpper(t.text)]:
			break loop
		}
		last = p.next()
		count++
	}
	if depth > 0 {
		return "", 0, syntax(p.peek().pos, "unclosed ( in %s", what)
	}
	if count == 0 {
		return "", 0, syntax(first.pos, "%s without anything after it", what)
	}
	return p.src[first.pos:last.end], n, nil
}

// clauseEnd are the keywords that end a WHERE or ORDER BY clause.
var clauseEnd = map[string]bool{
	"ORDER": true, "LIMIT": true, "OFFSET": true, "GROUP": true, "HAVING": true, "WINDOW": true,
	"UNION": true, "INTERSECT": true, "EXCEPT": true, "RETURNING": true, "FOR": true,
}

func (p *parser) insertStmt() (*Statement, error) {
	p.next() // INSERT
	if t := p.peek(); t.is("OR") {
		return nil, unsupported(t.pos, "INSERT OR "+strings.ToUpper(p.ahead(1).text), "")
	}
	if err := p.expect("INTO"); err != nil {
		return nil, err
	}
	st := &Statement{Kind: Insert, Limit: NoLimit}
	var err error
	if st.Table, err = p.table(st.Kind); err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.is("DEFAULT"):
		p.next()
		return st, p.expect("VALUES")
	case t.is("VALUES"):
		return nil, unsupported(t.pos, "INSERT without a column list", "name the columns: INSERT INTO t (a, b) VALUES (?, ?)")
	case t.is("SELECT") || t.is("WITH"):
		return nil, unsupported(t.pos, "INSERT … SELECT", "")
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		col, err := p.name("a column")
		if err != nil {
			return nil, err
		}
		if slices.Contains(st.Columns, col) {
			return nil, syntax(t.pos, "column %s named twice", quoteName(col))
		}
		st.Columns = append(st.Columns, col)
		if t := p.next(); t.punct(")") {
			break
		} else if !t.punct(",") {
			return nil, syntax(t.pos, "want , or ) in the column list, found %s", t.describe())
		}
	}
	if t := p.peek(); t.is("SELECT") || t.is("WITH") {
		return nil, unsupported(t.pos, "INSERT … SELECT", "")
	}
	if err := p.expect("VALUES"); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		if err := p.param(st, "VALUES"); err != nil {
			return nil, err
		}
		t := p.next()
		if t.punct(")") {
			if i+1 != len(st.Columns) {
				return nil, syntax(t.pos, "%d columns but %d values", len(st.Columns), i+1)
			}
			break
		}
		if !t.punct(",") {
			return nil, syntax(t.pos, "want , or ) in VALUES, found %s", t.describe())
		}
	}
	if t := p.peek(); t.punct(",") {
		return nil, unsupported(t.pos, "multi-row INSERT", "insert one row per statement")
	}
	return st, nil
}

// param reads a value of VALUES or SET into st.sets: a ?, or a literal
// (bound as an argument of its own), refusing anything else by name.
func (p *parser) param(st *Statement, where string) error {
	v, lit, err := p.literal()
	if err != nil {
		return err
	}
	if lit {
		st.sets = append(st.sets, slot{lit: true, v: v})
		return p.valueEnds(where)
	}
	t := p.next()
	switch {
	case t.kind == tParam:
		st.sets = append(st.sets, slot{})
		return p.valueEnds(where)
	case t.kind == tNamed:
		return unsupported(t.pos, "numbered and named placeholders ("+t.text+")", "write ? and pass the arguments in order")
	case t.is("DEFAULT"):
		return unsupported(t.pos, "DEFAULT in "+where, "leave the column out")
	case t.punct("(") && (p.peek().is("SELECT") || p.peek().is("WITH")):
		return unsupported(t.pos, "subqueries", "a statement reads one table")
	case t.kind == tEOF || t.punct(")") || t.punct(","):
		return syntax(t.pos, "want ? in %s, found %s", where, t.describe())
	}
	return unsupported(t.pos, "expressions in "+where, "write ? and pass the value as an argument")
}

// valueEnds refuses a value of VALUES or SET that goes on as an
// expression (? + 1).
func (p *parser) valueEnds(where string) error {
	if n := p.peek(); n.kind == tPunct && !n.punct(",") && !n.punct(")") && !n.punct(";") {
		return unsupported(n.pos, "expressions in "+where, "pass each value as an argument of its own")
	}
	return nil
}

func (p *parser) updateStmt() (*Statement, error) {
	p.next() // UPDATE
	if t := p.peek(); t.is("OR") {
		return nil, unsupported(t.pos, "UPDATE OR "+strings.ToUpper(p.ahead(1).text), "")
	}
	st := &Statement{Kind: Update, Limit: NoLimit}
	var err error
	if st.Table, err = p.table(st.Kind); err != nil {
		return nil, err
	}
	if err := p.expect("SET"); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.punct("(") {
			return nil, unsupported(t.pos, "assignments of several columns at once", "write col = ? for each")
		}
		col, err := p.name("a column")
		if err != nil {
			return nil, err
		}
		if n := p.peek(); n.punct(".") {
			return nil, unsupported(n.pos, "qualified column names", "")
		}
		if slices.Contains(st.Columns, col) {
			return nil, syntax(t.pos, "column %s set twice", quoteName(col))
		}
		st.Columns = append(st.Columns, col)
		if err := p.expect("="); err != nil {
			return nil, err
		}
		if err := p.param(st, "SET"); err != nil {
			return nil, err
		}
		if !p.peek().punct(",") {
			break
		}
		p.next()
	}
	if t := p.peek(); t.is("FROM") {
		return nil, unsupported(t.pos, "UPDATE … FROM", "a statement reads one table")
	}
	if err := p.where(st); err != nil {
		return nil, err
	}
	return st, nil
}

// where parses an optional WHERE clause into st, and its values: the
// placeholders, and the literals that become placeholders in Selection.
func (p *parser) where(st *Statement) error {
	if !p.accept("WHERE") {
		return nil
	}
	from := p.i
	var err error
	if st.Where, st.WhereParams, err = p.clause("WHERE", true); err != nil {
		return err
	}
	return st.bindWhere(p.src, p.toks[from:p.i])
}

// bindWhere finds the literal values among the WHERE clause's tokens: a
// string, a number (negative after an operator, a keyword or an opening
// parenthesis), a blob X'…'. If there are any, the selection is Where
// with each of them a ?, and whereSlots every placeholder in order.
func (st *Statement) bindWhere(src string, toks []token) error {
	var sel strings.Builder
	var slots []slot
	lits, from, last := 0, toks[0].pos, ""
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tParam:
			slots = append(slots, slot{})
			st.whereCols = append(st.whereCols, last)
			continue
		case t.kind == tQuoted, t.kind == tWord && !reserved[strings.ToUpper(t.text)] &&
			!(t.is("X") && i+1 < len(toks) && toks[i+1].kind == tString && toks[i+1].pos == t.end):
			last = t.text
		}
		start, n := t.pos, 0 // the literal's first byte and its tokens
		switch {
		case t.kind == tString, t.kind == tNumber:
			n = 1
		case (t.punct("-") || t.punct("+")) && i+1 < len(toks) && toks[i+1].kind == tNumber && (i == 0 || operand(toks[i-1])):
			n = 2
		case t.is("X") && i+1 < len(toks) && toks[i+1].kind == tString && toks[i+1].pos == t.end:
			n = 2
		default:
			continue
		}
		p := &parser{src: src, toks: append(slices.Clip(toks[i:i+n]), token{kind: tEOF})}
		v, _, err := p.literal()
		if err != nil {
			return err
		}
		slots = append(slots, slot{lit: true, v: v})
		lits++
		sel.WriteString(src[from:start])
		sel.WriteString("?")
		from = toks[i+n-1].end
		i += n - 1
	}
	if lits == 0 {
		return nil
	}
	sel.WriteString(src[from:toks[len(toks)-1].end])
	st.selection, st.whereSlots = sel.String(), slots
	return nil
}

// operand reports whether a value may follow t (a sign after it is a
// negative number, not a subtraction): an operator, an opening
// parenthesis, a comma, a keyword.
func operand(t token) bool {
	switch t.kind {
	case tPunct:
		return !t.punct(")")
	case tWord:
		return reserved[strings.ToUpper(t.text)]
	}
	return false
}

func (p *parser) deleteStmt() (*Statement, error) {
	p.next() // DELETE
	if err := p.expect("FROM"); err != nil {
		return nil, err
	}
	st := &Statement{Kind: Delete, Limit: NoLimit}
	var err error
	if st.Table, err = p.table(st.Kind); err != nil {
		return nil, err
	}
	if err := p.where(st); err != nil {
		return nil, err
	}
	return st, nil
}
