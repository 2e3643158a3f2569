package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// The provider's tables are one flat namespace of URIs: the gateway
// reports no catalog and one database schema, named "" (as arrow-go's
// SQLite example does for SQLite), that holds them all, each of type
// TABLE.
const (
	schemaName = ""
	tableType  = "TABLE"
)

// commandInfo returns the FlightInfo of a metadata command: one
// endpoint, here, whose ticket is the command.
func commandInfo(desc *flight.FlightDescriptor, s *arrow.Schema, g *Gateway) *flight.FlightInfo {
	return &flight.FlightInfo{
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		Schema:           flight.SerializeSchema(s, g.cfg.mem),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// one returns a channel holding one batch.
func one(rec arrow.RecordBatch) <-chan flight.StreamChunk {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return ch
}

// GetFlightInfoCatalogs answers CommandGetCatalogs.
func (g *Gateway) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.Catalogs, g), nil
}

// DoGetCatalogs lists no catalog.
func (g *Gateway) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(g.cfg.mem, schema_ref.Catalogs)
	defer b.Release()
	return schema_ref.Catalogs, one(b.NewRecordBatch()), nil
}

// GetFlightInfoSchemas answers CommandGetDbSchemas.
func (g *Gateway) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.DBSchemas, g), nil
}

// DoGetDBSchemas lists the one schema, if the filters let it through.
func (g *Gateway) DoGetDBSchemas(_ context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(g.cfg.mem, schema_ref.DBSchemas)
	defer b.Release()
	if catalogMatches(cmd.GetCatalog()) && patternMatches(cmd.GetDBSchemaFilterPattern(), schemaName) {
		b.Field(0).AppendNull()
		b.Field(1).(*array.StringBuilder).Append(schemaName)
	}
	return schema_ref.DBSchemas, one(b.NewRecordBatch()), nil
}

// GetFlightInfoTableTypes answers CommandGetTableTypes.
func (g *Gateway) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return commandInfo(desc, schema_ref.TableTypes, g), nil
}

// DoGetTableTypes lists the one table type.
func (g *Gateway) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(g.cfg.mem, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(tableType)
	return schema_ref.TableTypes, one(b.NewRecordBatch()), nil
}

// GetFlightInfoTables answers CommandGetTables.
func (g *Gateway) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		s = schema_ref.TablesWithIncludedSchema
	}
	return commandInfo(desc, s, g), nil
}

// DoGetTables lists the tables the provider's "tables" call names
// (docs/PROTOCOL.md, "Listing tables and columns"), filtered as asked;
// with include_schema, each table's schema is what SELECT * of it
// streams: from the declared types (and NOT NULL flags) its "columns"
// call reports, or, if one does not decide a column's type, from the
// values of a first batch.
func (g *Gateway) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	s := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		s = schema_ref.TablesWithIncludedSchema
	}
	b := array.NewRecordBuilder(g.cfg.mem, s)
	defer b.Release()
	if !catalogMatches(cmd.GetCatalog()) || !patternMatches(cmd.GetDBSchemaFilterPattern(), schemaName) ||
		!typeMatches(cmd.GetTableTypes()) {
		return s, one(b.NewRecordBatch()), nil
	}
	c, err := g.pool.get(ctx)
	if err != nil {
		return nil, nil, toStatus(err)
	}
	defer g.pool.put(c)
	tables, err := c.Tables(ctx)
	if err != nil {
		return nil, nil, toStatus(fmt.Errorf("the provider's tables (calls \"tables\" and \"columns\"): %w", err))
	}
	for _, t := range tables {
		if !patternMatches(cmd.GetTableNameFilterPattern(), t.Name) {
			continue
		}
		b.Field(0).AppendNull()
		b.Field(1).(*array.StringBuilder).Append(schemaName)
		b.Field(2).(*array.StringBuilder).Append(t.Name)
		b.Field(3).(*array.StringBuilder).Append(tableType)
		if cmd.GetIncludeSchema() {
			ts, err := g.tableSchema(ctx, t)
			if err != nil {
				return nil, nil, err
			}
			b.Field(4).(*array.BinaryBuilder).Append(flight.SerializeSchema(ts, g.cfg.mem))
		}
	}
	return s, one(b.NewRecordBatch()), nil
}

// tableSchema returns the schema SELECT * FROM t streams: from the
// declared types (Client.Tables), or from a first batch if one does not
// decide a column's Arrow type.
func (g *Gateway) tableSchema(ctx context.Context, t content.Table) (*arrow.Schema, error) {
	fts := make([]window.FieldType, len(t.Columns))
	for i, ct := range t.Types {
		ft, ok := cwarrow.DeclaredType(ct.DatabaseType)
		if !ok {
			return g.probe(ctx, &content.Query{URI: t.Name})
		}
		fts[i] = ft
	}
	return cwarrow.Schema(t.Columns, fts, t.Types, false), nil
}

// catalogMatches reports whether a catalog filter lets the tables, which
// have no catalog, through: no filter, or "" (Flight SQL's "without a
// catalog").
func catalogMatches(catalog *string) bool { return catalog == nil || *catalog == "" }

// typeMatches reports whether a table-type filter lets TABLE through.
func typeMatches(types []string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, tableType) {
			return true
		}
	}
	return false
}

// patternMatches reports whether s matches a Flight SQL filter pattern
// (nil matches everything): % any run of characters, _ any one, \ makes
// the next character literal.
func patternMatches(pattern *string, s string) bool {
	if pattern == nil {
		return true
	}
	return like([]rune(*pattern), []rune(s))
}

func like(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '%':
			for len(p) > 0 && p[0] == '%' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := range len(s) + 1 {
				if like(p, s[i:]) {
					return true
				}
			}
			return false
		case '_':
			if len(s) == 0 {
				return false
			}
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// registerSqlInfo says what the gateway is and supports.
func (g *Gateway) registerSqlInfo() {
	for id, v := range map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:          "cursorwindow cwflight",
		flightsql.SqlInfoFlightSqlServerVersion:       g.cfg.version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:  "18",
		flightsql.SqlInfoFlightSqlServerReadOnly:      g.cfg.readOnly,
		flightsql.SqlInfoFlightSqlServerSql:           true,
		flightsql.SqlInfoFlightSqlServerSubstrait:     false,
		flightsql.SqlInfoFlightSqlServerTransaction:   int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:        false,
		flightsql.SqlInfoFlightSqlServerBulkIngestion: true,
		flightsql.SqlInfoTransactionsSupported:        false,
		flightsql.SqlInfoDDLCatalog:                   false,
		flightsql.SqlInfoDDLSchema:                    false,
		flightsql.SqlInfoDDLTable:                     false,
		flightsql.SqlInfoIdentifierQuoteChar:          `"`,
		flightsql.SqlInfoSupportsColumnAliasing:       false,
	} {
		if err := g.RegisterSqlInfo(id, v); err != nil {
			panic(err) // a programming error: the types above are fixed
		}
	}
}
