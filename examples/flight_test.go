package examples_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // "flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// flightTable reads query through the gateway with arrow-go's
// database/sql driver for Flight SQL.
func flightTable(t *testing.T, db *sql.DB, query string, args ...any) [][]any {
	t.Helper()
	rows, err := flightRows(db, query, args...)
	require.NoError(t, err, query)
	return rows
}

func flightRows(db *sql.DB, query string, args ...any) ([][]any, error) {
	rows, err := db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// TestFlightGateway runs cwflight against the example provider and
// queries it with arrow-go's Flight SQL client and database/sql driver:
// the rows equal those database/sql reads from the SQLite file.
func TestFlightGateway(t *testing.T) {
	p := startProvider(t, "--window-size", "16384")
	g := startGateway(t, p.Socket, nil)
	db, err := sql.Open("flightsql", "flightsql://"+g.addr+"?timeout=30s")
	require.NoError(t, err)
	defer db.Close()

	for _, tt := range []struct {
		sql  string
		args []any
	}{
		{"SELECT * FROM trips", nil},
		{"SELECT * FROM cities ORDER BY name", nil},
		{"SELECT id, city, fare, tip FROM trips WHERE city = ? AND fare > ? ORDER BY fare DESC, id LIMIT ?", []any{"Paris", 20.0, int64(5)}},
		{"SELECT route_hash, started_at FROM trips WHERE tip IS NULL AND passengers >= ? ORDER BY started_at DESC, id", []any{int64(3)}},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			want := sqliteTable(t, dbPath(p), tt.sql, tt.args...)
			requireSameRows(t, want.rows, flightTable(t, db, tt.sql, tt.args...))
		})
	}

	t.Run("Client", func(t *testing.T) {
		c, err := flightsql.NewClient(g.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer c.Close()
		ctx := context.Background()
		info, err := c.Execute(ctx, "SELECT * FROM trips")
		require.NoError(t, err)
		want := sqliteTable(t, dbPath(p), "SELECT * FROM trips")
		var got [][]any
		for _, ep := range info.Endpoint {
			r, err := c.DoGet(ctx, ep.Ticket)
			require.NoError(t, err)
			checkSchema(t, want, r.Schema())
			checkNullable(t, dbPath(p), "trips", r.Schema())
			for r.Next() {
				got = append(got, arrowRows(t, r.RecordBatch())...)
			}
			require.NoError(t, r.Err())
			r.Release()
		}
		requireSameRows(t, want.rows, got)

		info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{})
		require.NoError(t, err)
		r, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
		require.NoError(t, err)
		defer r.Release()
		var names []any
		for r.Next() {
			for _, row := range arrowRows(t, r.RecordBatch()) {
				names = append(names, row[2])
			}
		}
		assert.Equal(t, []any{"cities", "trips"}, names)

		// The tables' schemas, from the provider's "columns" call.
		info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
		require.NoError(t, err)
		r2, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
		require.NoError(t, err)
		defer r2.Release()
		checked := 0
		for r2.Next() {
			for _, row := range arrowRows(t, r2.RecordBatch()) {
				s, err := flight.DeserializeSchema(row[4].([]byte), memory.DefaultAllocator)
				require.NoError(t, err)
				checkNullable(t, dbPath(p), row[2].(string), s)
				checked++
			}
		}
		require.NoError(t, r2.Err())
		assert.Equal(t, 2, checked)
	})

	t.Run("Write", func(t *testing.T) {
		res, err := db.Exec("INSERT INTO trips (city, distance_km, duration_s, fare) VALUES (?, ?, ?, ?)", "Lisbon", 3.2, int64(540), 7.9)
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		want := sqliteTable(t, dbPath(p), "SELECT id, city, fare FROM trips WHERE id > ?", int64(sampleRows))
		require.Len(t, want.rows, 1)
		requireSameRows(t, want.rows, flightTable(t, db, "SELECT id, city, fare FROM trips WHERE id > ?", int64(sampleRows)))
		res, err = db.Exec("DELETE FROM trips WHERE id > ?", int64(sampleRows))
		require.NoError(t, err)
		n, _ = res.RowsAffected()
		assert.Equal(t, int64(1), n)
	})

	t.Run("Concurrent", func(t *testing.T) {
		want := sqliteTable(t, dbPath(p), "SELECT id, fare FROM trips")
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				db, err := sql.Open("flightsql", "flightsql://"+g.addr+"?timeout=30s")
				if err != nil {
					errs <- err
					return
				}
				defer db.Close()
				got, err := flightRows(db, "SELECT id, fare FROM trips")
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				if fmt.Sprint(got) != fmt.Sprint(want.rows) {
					errs <- fmt.Errorf("client %d: %d rows differ from SQLite's %d", i, len(got), len(want.rows))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestFlightGatewayToken: a gateway with a token refuses a client
// without it, or with another, with Unauthenticated.
func TestFlightGatewayToken(t *testing.T) {
	p := startProvider(t)
	g := startGateway(t, p.Socket, []string{"CWFLIGHT_TOKEN=t0ken"})
	for token, code := range map[string]codes.Code{"": codes.Unauthenticated, "guess": codes.Unauthenticated, "t0ken": codes.OK} {
		db, err := sql.Open("flightsql", "flightsql://"+g.addr+"?timeout=30s&token="+token)
		require.NoError(t, err)
		var id int64
		err = db.QueryRow("SELECT id FROM trips LIMIT 1").Scan(&id)
		assert.Equal(t, code, status.Code(err), "token %q: %v", token, err)
		db.Close()
	}
}
