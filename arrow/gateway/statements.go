package gateway

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

// parse parses a statement of the subset sqlparse reads.
func parse(sql string) (*sqlparse.Statement, error) {
	st, err := sqlparse.Parse(sql)
	if err != nil {
		return nil, toStatus(err)
	}
	return st, nil
}

// parseQuery parses a SELECT whose arguments are args.
func parseQuery(sql string, args []any) (*sqlparse.Statement, error) {
	st, err := parse(sql)
	if err != nil {
		return nil, err
	}
	if st.Kind != sqlparse.Select {
		return nil, status.Errorf(codes.InvalidArgument, "cwflight: %v is a write: run it as an update (CommandStatementUpdate, or a prepared statement's ExecuteUpdate)", st.Kind)
	}
	if n := st.NumParams(); n != len(args) {
		if len(args) == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "cwflight: the statement has %d placeholders: prepare it and bind its parameters", n)
		}
		return nil, status.Errorf(codes.InvalidArgument, "cwflight: %d parameters bound for %d placeholders", len(args), n)
	}
	return st, nil
}

// statementInfo returns the FlightInfo of a query: one endpoint, here,
// whose ticket is the handle, and the result's schema. The query is
// checked by the provider as it is planned (probe: a first batch's worth
// of rows), so that a client learns of a bad table or selection from
// GetFlightInfo, not only once it fetches, and gets the schema with it.
func (g *Gateway) statementInfo(ctx context.Context, desc *flight.FlightDescriptor, h []byte, st *sqlparse.Statement, args []any) (*flight.FlightInfo, error) {
	q, _, err := st.Query(args)
	if err != nil {
		return nil, toStatus(err)
	}
	s, err := g.probe(ctx, q)
	if err != nil {
		return nil, err
	}
	ticket, err := flightsql.CreateStatementQueryTicket(h)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "cwflight: ticket: %v", err)
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(s, g.cfg.mem),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// GetFlightInfoStatement answers CommandStatementQuery: a SELECT of the
// subset without placeholders (a statement with placeholders is
// prepared, and its parameters bound).
func (g *Gateway) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	st, err := parseQuery(cmd.GetQuery(), nil)
	if err != nil {
		return nil, err
	}
	h, err := encodeHandle(cmd.GetQuery(), nil)
	if err != nil {
		return nil, toStatus(err)
	}
	return g.statementInfo(ctx, desc, h, st, nil)
}

// DoGetStatement streams a query's rows: one provider cursor for the
// stream, closed when the stream ends, fails or is cancelled.
func (g *Gateway) DoGetStatement(ctx context.Context, t flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return g.doGet(ctx, t.GetStatementHandle())
}

// GetSchemaStatement returns a query's schema, which takes running it:
// the first batch's worth of rows when a column's type is not declared.
func (g *Gateway) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	st, err := parseQuery(cmd.GetQuery(), nil)
	if err != nil {
		return nil, err
	}
	q, _, err := st.Query(nil)
	if err != nil {
		return nil, toStatus(err)
	}
	s, err := g.probe(ctx, q)
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(s, g.cfg.mem)}, nil
}

// readerOpts are the options of every stream's cwarrow.Reader.
func (g *Gateway) readerOpts() []cwarrow.Option {
	return []cwarrow.Option{
		cwarrow.WithBatchRows(g.cfg.batchRows), cwarrow.WithBatchBytes(g.cfg.batchBytes), cwarrow.WithAllocator(g.cfg.mem),
	}
}

// query runs a SELECT and returns its schema and a channel of its
// batches, filled by a goroutine that owns the cursor.
func (g *Gateway) query(ctx context.Context, st *sqlparse.Statement, args []any) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	q, noRows, err := st.Query(args)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	c, err := g.pool.get(ctx)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	done := doneOf(ctx)
	rr, err := g.open(ctx, c, q, done == nil)
	if err != nil {
		g.pool.put(c)
		return nil, nil, err
	}
	ch := make(chan flight.StreamChunk, 1)
	if noRows { // LIMIT 0: the columns, no row
		s := rr.Schema()
		rr.Release()
		g.pool.put(c)
		close(ch)
		return s, ch, nil
	}
	go g.stream(ctx, c, rr, ch, done)
	return rr.Schema(), ch, nil
}

// open runs q on c and returns a reader of its rows, whose batches are
// copied out of the provider's windows if copied.
func (g *Gateway) open(ctx context.Context, c *content.Client, q *content.Query, copied bool) (*cwarrow.Reader, error) {
	cur, err := c.Query(ctx, q)
	if err != nil {
		return nil, toStatus(err)
	}
	opts := g.readerOpts()
	if copied {
		opts = append(opts, cwarrow.WithCopiedBatches())
	}
	rr, err := cwarrow.NewReader(cur, opts...)
	if err != nil {
		return nil, toStatus(err)
	}
	return rr, nil
}

// stream sends rr's batches to ch until the rows end, fail, or ctx (the
// remote stream's) is done; then it releases the reader, which closes
// the cursor, and gives the connection back. The batches the server
// did not release are released once its handler has returned (done).
func (g *Gateway) stream(ctx context.Context, c *content.Client, rr *cwarrow.Reader, ch chan flight.StreamChunk, done <-chan struct{}) {
	defer g.pool.put(c)
	var out []*sentBatch // sent, perhaps not released yet
	defer func() {
		close(ch)
		if done == nil {
			return // copied batches: nothing held
		}
		<-done // the server drained the channel before its handler returned
		for _, b := range out {
			b.forceRelease()
		}
	}()
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		if done != nil {
			out = slices.DeleteFunc(out, (*sentBatch).released)
			b := newSentBatch(rec)
			out = append(out, b)
			rec = b
		}
		select {
		case ch <- flight.StreamChunk{Data: rec}:
		case <-ctx.Done():
			rec.Release()
			return
		}
	}
	if err := rr.Err(); err != nil {
		g.cfg.log.Warn("stream failed", "err", err)
		select {
		case ch <- flight.StreamChunk{Err: toStatus(err)}:
		case <-ctx.Done():
		}
	}
}

// probe returns the schema of q's rows, reading at most one batch.
func (g *Gateway) probe(ctx context.Context, q *content.Query) (*arrow.Schema, error) {
	c, err := g.pool.get(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	defer g.pool.put(c)
	if q.Limit <= 0 || q.Limit > int64(g.cfg.batchRows) {
		q.Limit = int64(g.cfg.batchRows)
	}
	rr, err := g.open(ctx, c, q, true) // a schema: nothing held past it
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	return rr.Schema(), nil
}

// CreatePreparedStatement parses a statement of the subset. The handle
// carries its text: the gateway keeps nothing. The result says whether it
// is an update and, under WithParameterTypes, gives the parameter schema
// (ADBC's GetParameterSchema): a field per ?, with the type and nullability of
// the column it sets (VALUES, SET) or is compared with (WHERE: col = ?,
// col IN (?, ?), col BETWEEN ? AND ?), from the provider's "columns"
// call, and int64 for LIMIT ?. If any parameter's type is not known the
// schema is left out, and clients type the parameters from their values
// (a null-typed field would make some, arrow-go's driver among them,
// refuse every value).
func (g *Gateway) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	st, err := parse(req.GetQuery())
	if err != nil {
		return res, err
	}
	h, err := encodeHandle(req.GetQuery(), nil)
	if err != nil {
		return res, toStatus(err)
	}
	res.Handle = h
	update := st.Kind != sqlparse.Select
	res.IsUpdate = &update
	if g.cfg.paramTypes {
		res.ParameterSchema, err = g.paramSchema(ctx, st)
	}
	return res, err
}

// paramSchema returns the schema of a statement's parameters.
func (g *Gateway) paramSchema(ctx context.Context, st *sqlparse.Statement) (*arrow.Schema, error) {
	cols := st.ParamColumns()
	fields := make([]arrow.Field, len(cols))
	var table *arrow.Schema
	for i, col := range cols {
		switch {
		case col == "" && st.LimitParam && i == len(cols)-1:
			fields[i] = arrow.Field{Name: "limit", Type: arrow.PrimitiveTypes.Int64}
			continue
		case col == "":
			return nil, nil // a type not known
		case table == nil:
			c, err := g.pool.get(ctx)
			if err != nil {
				return nil, toStatus(err)
			}
			t, err := c.Table(ctx, st.Table)
			g.pool.put(c)
			if err != nil {
				return nil, toStatus(fmt.Errorf("the columns of %q (call \"columns\"): %w", st.Table, err))
			}
			if table, err = g.tableSchema(ctx, t); err != nil {
				return nil, err
			}
		}
		j := table.FieldIndices(col)
		if len(j) != 1 {
			return nil, nil // not a column the provider names so (its case may differ): not known
		}
		f := table.Field(j[0])
		fields[i] = arrow.Field{Name: col, Type: f.Type, Nullable: true, Metadata: f.Metadata} // a NULL binds anywhere: IS NULL aside, it matches nothing
	}
	return arrow.NewSchema(fields, nil), nil
}

// ClosePreparedStatement does nothing: a handle holds no state.
func (g *Gateway) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil
}

// DoPutPreparedStatementQuery binds a query's parameters (one row of
// them) and returns the handle that carries them.
func (g *Gateway) DoPutPreparedStatementQuery(_ context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	h, err := decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, toStatus(err)
	}
	rows, err := readParams(rdr)
	if err != nil {
		return nil, toStatus(err)
	}
	if len(rows) > 1 {
		return nil, status.Errorf(codes.InvalidArgument, "cwflight: %d rows of parameters for a query: bind one", len(rows))
	}
	var args []any
	if len(rows) == 1 {
		args = rows[0]
	}
	if _, err := parseQuery(h.SQL, args); err != nil {
		return nil, err
	}
	nh, err := encodeHandle(h.SQL, args)
	if err != nil {
		return nil, toStatus(err)
	}
	return nh, nil
}

// GetFlightInfoPreparedStatement answers the execution of a prepared
// query: its ticket carries the text and the bound parameters.
func (g *Gateway) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	h, err := decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, toStatus(err)
	}
	st, err := parseQuery(h.SQL, h.Args)
	if err != nil {
		return nil, err
	}
	return g.statementInfo(ctx, desc, cmd.GetPreparedStatementHandle(), st, h.Args)
}

// DoGetPreparedStatement streams a prepared query's rows, for a client
// that sends the command itself as a ticket.
func (g *Gateway) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return g.doGet(ctx, cmd.GetPreparedStatementHandle())
}

// doGet streams the rows of the query a statement handle holds.
func (g *Gateway) doGet(ctx context.Context, handle []byte) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	h, err := decodeHandle(handle)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	st, err := parseQuery(h.SQL, h.Args)
	if err != nil {
		return nil, nil, err
	}
	return g.query(ctx, st, h.Args)
}

// DoPutCommandStatementUpdate runs an INSERT, UPDATE or DELETE without
// placeholders.
func (g *Gateway) DoPutCommandStatementUpdate(ctx context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	st, err := parse(cmd.GetQuery())
	if err != nil {
		return 0, err
	}
	return g.write(ctx, st, nil)
}

// DoPutPreparedStatementUpdate runs a prepared write once per row of
// parameters (once, with those bound before, if none came).
func (g *Gateway) DoPutPreparedStatementUpdate(ctx context.Context, cmd flightsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	h, err := decodeHandle(cmd.GetPreparedStatementHandle())
	if err != nil {
		return 0, toStatus(err)
	}
	st, err := parse(h.SQL)
	if err != nil {
		return 0, err
	}
	rows, err := readParams(rdr)
	if err != nil {
		return 0, toStatus(err)
	}
	if len(rows) == 0 {
		rows = [][]any{h.Args}
	}
	var total int64
	for _, args := range rows {
		n, err := g.write(ctx, st, args)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// write runs one write and returns the rows it changed.
func (g *Gateway) write(ctx context.Context, st *sqlparse.Statement, args []any) (int64, error) {
	if st.Kind == sqlparse.Select {
		return 0, status.Error(codes.InvalidArgument, "cwflight: SELECT as an update: run queries with CommandStatementQuery (Execute)")
	}
	if g.cfg.readOnly {
		return 0, status.Errorf(codes.PermissionDenied, "cwflight: the gateway is read-only: %v refused", st.Kind)
	}
	if n := st.NumParams(); n != len(args) {
		return 0, status.Errorf(codes.InvalidArgument, "cwflight: %d parameters for %d placeholders", len(args), n)
	}
	vals, where, err := st.Write(args)
	if err != nil {
		return 0, toStatus(err)
	}
	c, err := g.pool.get(ctx)
	if err != nil {
		return 0, toStatus(err)
	}
	defer g.pool.put(c)
	var n int64
	switch st.Kind {
	case sqlparse.Insert:
		_, err = c.Insert(ctx, st.Table, vals)
		n = 1
	case sqlparse.Update:
		n, err = c.Update(ctx, st.Table, vals, st.Selection(), where...)
	case sqlparse.Delete:
		n, err = c.Delete(ctx, st.Table, st.Selection(), where...)
	default:
		err = fmt.Errorf("%w: %v", content.ErrUnsupported, st.Kind)
	}
	if err != nil {
		return 0, toStatus(err)
	}
	return n, nil
}
