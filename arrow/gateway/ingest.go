package gateway

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/content"
)

// DoPutCommandStatementIngest loads the record batches of a bulk ingest
// (ADBC's adbc.ingest) into a table that exists, through the provider's
// bulk insert: the rows travel in shared-memory windows and are inserted
// all or nothing where the provider can (the example provider does). The
// columns are the first batch's fields; every batch must have the same.
// Appending is the one mode: creating or replacing a table, temporary
// tables and transactions are codes.Unimplemented, and an ingest into a
// table that exists under "create" (fail if it exists) is
// codes.AlreadyExists.
func (g *Gateway) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	if err := g.checkIngest(cmd); err != nil {
		return 0, err
	}
	c, err := g.pool.get(ctx)
	if err != nil {
		return 0, toStatus(err)
	}
	defer g.pool.put(c)
	var b *content.Bulk
	var cols []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if b == nil {
			for i := range int(rec.NumCols()) {
				cols = append(cols, rec.ColumnName(i))
			}
			if b, err = c.BulkInsert(ctx, cmd.GetTable(), cols); err != nil {
				return 0, toStatus(err)
			}
			defer b.Abort() // a no-op once closed
		}
		if !rec.Schema().Equal(rdr.Schema()) || int(rec.NumCols()) != len(cols) {
			return 0, status.Errorf(codes.InvalidArgument, "cwflight: the batches of an ingest must share one schema")
		}
		row := make([]any, len(cols))
		for i := range int(rec.NumRows()) {
			for j, col := range rec.Columns() {
				if row[j], err = paramValue(col, i); err != nil {
					return 0, status.Errorf(codes.InvalidArgument, "cwflight: row %d, column %s: %v", b.Rows(), cols[j], err)
				}
			}
			if err := b.Append(row...); err != nil {
				return 0, toStatus(err)
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "cwflight: reading the ingest's batches: %v", err)
	}
	if b == nil {
		return 0, nil // no batch: nothing to insert
	}
	n, err := b.Close()
	if err != nil {
		return 0, toStatus(fmt.Errorf("the ingest into %s: %w", cmd.GetTable(), err))
	}
	return n, nil
}

// checkIngest refuses what an ingest asks that the gateway does not do.
func (g *Gateway) checkIngest(cmd flightsql.StatementIngest) error {
	opts := cmd.GetTableDefinitionOptions()
	switch {
	case g.cfg.readOnly:
		return status.Error(codes.PermissionDenied, "cwflight: the gateway is read-only: ingest refused")
	case cmd.GetTemporary():
		return status.Error(codes.Unimplemented, "cwflight: temporary tables: ingest into a table that exists (mode append)")
	case len(cmd.GetTransactionId()) > 0:
		return status.Error(codes.Unimplemented, "cwflight: transactions are not supported (SqlInfo says so): ingest without one; a load is all or nothing by itself")
	case cmd.GetCatalog() != "" || cmd.GetSchema() != "" && cmd.GetSchema() != schemaName:
		return status.Errorf(codes.NotFound, "cwflight: catalog %q, schema %q: the provider's tables are in one schema, named %q", cmd.GetCatalog(), cmd.GetSchema(), schemaName)
	case opts.GetIfExists() == flightsql.TableDefinitionOptionsTableExistsOptionReplace:
		return status.Error(codes.Unimplemented, "cwflight: replacing a table: ingest with mode append")
	case opts.GetIfExists() == flightsql.TableDefinitionOptionsTableExistsOptionFail:
		// "create": the gateway creates no table, and a table that can be
		// ingested into exists.
		return status.Errorf(codes.AlreadyExists, "cwflight: ingest mode create into %q: the gateway creates no table; ingest into one that exists with mode append", cmd.GetTable())
	}
	return nil
}
