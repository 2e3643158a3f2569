package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // "flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/arrow/gateway"
	"github.com/cursorwindow/cursorwindow/arrow/internal/servetest"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

const tripRows = 3000

// trips returns a provider of a table of tripRows rows with declared
// types, NULLs and blobs, and the rows.
func trips() (*contenttest.Watched, [][]any) {
	mp := contenttest.NewMemProvider()
	cities := []string{"Lisbon", "Paris", "Berlin", "Zürich"}
	rows := make([][]any, tripRows)
	for i := range rows {
		var tip any
		if i%3 != 0 {
			tip = float64(i%17) / 4
		}
		rows[i] = []any{int64(i + 1), cities[i%len(cities)], float64(i%101) + 0.5, tip, []byte{byte(i), byte(i >> 8)}}
	}
	mp.AddTable("trips", []string{"id", "city", "fare", "tip", "hash"}, rows)
	mp.AddTable("loose", []string{"a", "b"}, [][]any{{1, "x"}, {2.5, nil}})
	typed := &servetest.Typed{Provider: mp, Types: map[string]content.ColumnType{
		"id": {DatabaseType: "INTEGER"}, "city": {DatabaseType: "TEXT"}, "fare": {DatabaseType: "REAL"},
		"tip": {DatabaseType: "REAL"}, "hash": {DatabaseType: "BLOB"},
	}}
	return contenttest.NewWatched(typed), rows
}

// start serves p in this process and a gateway to it on loopback, until
// the test ends; it returns the gateway's address and the provider's
// server.
func start(t *testing.T, p provider.Provider, opts ...gateway.Option) (string, *provider.Server) {
	t.Helper()
	sock, srv := contenttest.Serve(t, p, provider.WithWindowSize(16<<10))
	g := gateway.New(gateway.SocketDialer(sock), opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
		g.Close()
	})
	return ln.Addr().String(), srv
}

func newClient(t *testing.T, addr string, opts ...grpc.DialOption) *flightsql.Client {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	c, err := flightsql.NewClient(addr, nil, nil, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// fetch reads every endpoint of info and returns the schema and rows.
func fetch(ctx context.Context, c *flightsql.Client, info *flight.FlightInfo) (*arrow.Schema, [][]any, error) {
	var (
		schema *arrow.Schema
		rows   [][]any
	)
	for _, ep := range info.Endpoint {
		r, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, nil, err
		}
		schema = r.Schema()
		for r.Next() {
			vals, err := servetest.Values(r.RecordBatch())
			if err != nil {
				r.Release()
				return nil, nil, err
			}
			rows = append(rows, vals...)
		}
		err = r.Err()
		r.Release()
		if err != nil {
			return nil, nil, err
		}
	}
	return schema, rows, nil
}

func query(t *testing.T, c *flightsql.Client, sql string) (*arrow.Schema, [][]any) {
	t.Helper()
	ctx := context.Background()
	info, err := c.Execute(ctx, sql)
	require.NoError(t, err, sql)
	s, rows, err := fetch(ctx, c, info)
	require.NoError(t, err, sql)
	return s, rows
}

func fieldTypes(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name+" "+f.Type.String())
	}
	return out
}

// TestQuery runs statement queries and prepared ones with the Flight SQL
// client and compares the rows with the provider's table.
func TestQuery(t *testing.T) {
	p, want := trips()
	addr, _ := start(t, p)
	c := newClient(t, addr)

	s, got := query(t, c, "SELECT * FROM trips")
	assert.Equal(t, []string{"id int64", "city utf8", "fare float64", "tip float64", "hash binary"}, fieldTypes(s))
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i], got[i], "row %d", i)
	}

	_, got = query(t, c, "SELECT id, tip FROM trips ORDER BY id DESC LIMIT 3")
	assert.Equal(t, [][]any{{want[2999][0], want[2999][3]}, {want[2998][0], want[2998][3]}, {want[2997][0], nil}}, got)

	s, got = query(t, c, "SELECT city FROM trips LIMIT 0")
	assert.Equal(t, []string{"city utf8"}, fieldTypes(s))
	assert.Empty(t, got)

	ctx := context.Background()
	stmt, err := c.Prepare(ctx, "SELECT id, fare FROM trips WHERE city = ? ORDER BY id DESC LIMIT ?")
	require.NoError(t, err)
	defer stmt.Close(ctx)
	for _, city := range []string{"Paris", "Zürich"} {
		b := array.NewRecordBuilder(c.Alloc, arrow.NewSchema([]arrow.Field{
			{Name: "city", Type: arrow.BinaryTypes.String}, {Name: "limit", Type: arrow.PrimitiveTypes.Int32},
		}, nil))
		b.Field(0).(*array.StringBuilder).Append(city)
		b.Field(1).(*array.Int32Builder).Append(4)
		params := b.NewRecordBatch()
		b.Release()
		stmt.SetParameters(params)
		params.Release()
		info, err := stmt.Execute(ctx)
		require.NoError(t, err)
		_, got, err := fetch(ctx, c, info)
		require.NoError(t, err)
		var expect [][]any
		for i := len(want) - 1; i >= 0 && len(expect) < 4; i-- {
			if r := want[i]; r[1] == city {
				expect = append(expect, []any{r[0], r[2]})
			}
		}
		assert.Equal(t, expect, got, city)
	}
}

// TestDriver uses arrow-go's database/sql driver for Flight SQL: queries
// with and without arguments, and writes.
func TestDriver(t *testing.T) {
	p, want := trips()
	addr, _ := start(t, p)
	db, err := sql.Open("flightsql", "flightsql://"+addr+"?timeout=10s")
	require.NoError(t, err)
	defer db.Close()

	rows, err := db.Query("SELECT id, city, fare, tip FROM trips WHERE city = ?", "Berlin")
	require.NoError(t, err)
	var got [][]any
	for rows.Next() {
		var (
			id   int64
			city string
			fare float64
			tip  sql.NullFloat64
		)
		require.NoError(t, rows.Scan(&id, &city, &fare, &tip))
		var tv any
		if tip.Valid {
			tv = tip.Float64
		}
		got = append(got, []any{id, city, fare, tv})
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	var expect [][]any
	for _, r := range want {
		if r[1] == "Berlin" {
			expect = append(expect, r[:4])
		}
	}
	assert.Equal(t, expect, got)

	var n int64
	require.NoError(t, db.QueryRow("SELECT id FROM trips ORDER BY id DESC LIMIT 1").Scan(&n))
	assert.Equal(t, int64(tripRows), n)

	res, err := db.Exec("INSERT INTO trips (id, city, fare) VALUES (?, ?, ?)", int64(tripRows+1), "Oslo", 12.5)
	require.NoError(t, err)
	affected, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), affected)
	res, err = db.Exec("UPDATE trips SET fare = ? WHERE city = ?", 13.5, "Oslo")
	require.NoError(t, err)
	affected, _ = res.RowsAffected()
	assert.Equal(t, int64(1), affected)
	var fare float64
	require.NoError(t, db.QueryRow("SELECT fare FROM trips WHERE city = ?", "Oslo").Scan(&fare))
	assert.Equal(t, 13.5, fare)
	res, err = db.Exec("DELETE FROM trips WHERE city = ?", "Oslo")
	require.NoError(t, err)
	affected, _ = res.RowsAffected()
	assert.Equal(t, int64(1), affected)
}

// TestUpdateStatement runs a write as CommandStatementUpdate, and sees
// writes refused by a read-only gateway.
func TestUpdateStatement(t *testing.T) {
	mp := contenttest.NewMemProvider()
	mp.AddTable("t", []string{"a"}, [][]any{{1}, {2}})
	addr, _ := start(t, mp)
	c := newClient(t, addr)
	ctx := context.Background()
	n, err := c.ExecuteUpdate(ctx, "INSERT INTO t DEFAULT VALUES")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	n, err = c.ExecuteUpdate(ctx, "DELETE FROM t")
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)

	_, err = c.ExecuteUpdate(ctx, "SELECT * FROM t")
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	_, err = c.Execute(ctx, "DELETE FROM t")
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	roAddr, _ := start(t, mp, gateway.WithReadOnly())
	_, err = newClient(t, roAddr).ExecuteUpdate(ctx, "DELETE FROM t")
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
}

// TestRefusals: SQL outside the subset, unknown tables, placeholders
// without parameters, and fields that do not fit their column get the
// codes that say so.
func TestRefusals(t *testing.T) {
	p, _ := trips()
	addr, _ := start(t, p)
	c := newClient(t, addr)
	ctx := context.Background()
	for _, tt := range []struct {
		sql  string
		code codes.Code
		msg  string
	}{
		{"SELECT COUNT(*) FROM trips", codes.Unimplemented, "aggregate functions (COUNT)"},
		{"SELECT * FROM trips JOIN cities", codes.Unimplemented, "joins (JOIN)"},
		{"SELEC * FROM trips", codes.InvalidArgument, "sqlparse"},
		{"SELECT * FROM trips WHERE city = ?", codes.InvalidArgument, "1 placeholders: prepare it"},
		{"SELECT * FROM nope", codes.NotFound, "nope"},
		{"SELECT * FROM trips WHERE fare > 10 AND nope < 3", codes.InvalidArgument, `no column "nope"`}, // the provider's refusal; literals bound
	} {
		t.Run(tt.sql, func(t *testing.T) {
			info, err := c.Execute(ctx, tt.sql)
			if err == nil {
				_, _, err = fetch(ctx, c, info)
			}
			require.Error(t, err)
			assert.Equal(t, tt.code, status.Code(err), "%v", err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestMixedTypesInStream: a field that does not fit its column fails the
// stream with Internal and the row and column named.
func TestMixedTypesInStream(t *testing.T) {
	mp := contenttest.NewMemProvider()
	rows := make([][]any, 100)
	for i := range rows {
		rows[i] = []any{i}
	}
	rows[70][0] = "seventy"
	mp.AddTable("t", []string{"a"}, rows)
	addr, _ := start(t, mp, gateway.WithBatchRows(10))
	c := newClient(t, addr)
	ctx := context.Background()
	info, err := c.Execute(ctx, "SELECT a FROM t")
	require.NoError(t, err)
	_, _, err = fetch(ctx, c, info)
	assert.Equal(t, codes.Internal, status.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "row 70, column 0 (a): a STRING in a column of int64")
}

// TestCatalog: GetTables (with and without schemas, filtered),
// GetDbSchemas, GetTableTypes and GetSqlInfo.
func TestCatalog(t *testing.T) {
	p, _ := trips()
	addr, _ := start(t, p, gateway.WithReadOnly())
	c := newClient(t, addr)
	ctx := context.Background()

	info, err := c.GetTables(ctx, &flightsql.GetTablesOpts{})
	require.NoError(t, err)
	_, rows, err := fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{nil, "", "loose", "TABLE"}, {nil, "", "trips", "TABLE"}}, rows)

	pattern := "tr_p%"
	info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{TableNameFilterPattern: &pattern, IncludeSchema: true})
	require.NoError(t, err)
	_, rows, err = fetch(ctx, c, info)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	ts, err := flight.DeserializeSchema(rows[0][4].([]byte), c.Alloc)
	require.NoError(t, err)
	assert.Equal(t, []string{"id int64", "city utf8", "fare float64", "tip float64", "hash binary"}, fieldTypes(ts))

	// loose declares no types: its schema comes from its values.
	pattern = "loose"
	info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{TableNameFilterPattern: &pattern, IncludeSchema: true})
	require.NoError(t, err)
	_, rows, err = fetch(ctx, c, info)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	ts, err = flight.DeserializeSchema(rows[0][4].([]byte), c.Alloc)
	require.NoError(t, err)
	assert.Equal(t, []string{"a float64", "b utf8"}, fieldTypes(ts))

	info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{TableTypes: []string{"VIEW"}})
	require.NoError(t, err)
	_, rows, err = fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Empty(t, rows)

	info, err = c.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
	require.NoError(t, err)
	_, rows, err = fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{nil, ""}}, rows)

	info, err = c.GetTableTypes(ctx)
	require.NoError(t, err)
	_, rows, err = fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{"TABLE"}}, rows)

	info, err = c.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerReadOnly})
	require.NoError(t, err)
	r, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next())
	rec := r.RecordBatch()
	require.Equal(t, int64(2), rec.NumRows())
	vals := rec.Column(1).(*array.DenseUnion)
	name := vals.Field(vals.ChildID(0)).(*array.String).Value(int(vals.ValueOffset(0)))
	readOnly := vals.Field(vals.ChildID(1)).(*array.Boolean).Value(int(vals.ValueOffset(1)))
	assert.Equal(t, "cursorwindow cwflight", name)
	assert.True(t, readOnly)
}

// TestCancelReleasesCursor: cancelling a remote stream closes the
// provider's query long before its end and gives back every window.
func TestCancelReleasesCursor(t *testing.T) {
	const n = 200_000
	mp := contenttest.NewMemProvider()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{i, "a row of some length, to fill many windows"}
	}
	mp.AddTable("big", []string{"id", "s"}, rows)
	p := contenttest.NewWatched(mp)
	addr, srv := start(t, p, gateway.WithBatchRows(500))
	c := newClient(t, addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	info, err := c.Execute(ctx, "SELECT id, s FROM big")
	require.NoError(t, err)
	r, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, r.Next())
	cancel()
	for r.Next() {
	}
	assert.Equal(t, codes.Canceled, status.Code(r.Err()), "%v", r.Err())
	r.Release()
	select {
	case read := <-p.Closed:
		assert.Less(t, read, int64(n), "the provider read the whole table")
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's query was not closed")
	}
	require.Eventually(t, func() bool { return srv.Stats().WindowsOut == 0 }, 10*time.Second, 10*time.Millisecond,
		"windows still out: %+v", srv.Stats())
}

// TestConcurrentClients: 16 remote clients, each on its own connection,
// scan the table at once and all read every row.
func TestConcurrentClients(t *testing.T) {
	p, want := trips()
	addr, srv := start(t, p)
	var wantSum float64
	for _, r := range want {
		wantSum += r[2].(float64)
	}
	const clients = 16
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := newClient(t, addr)
		wg.Go(func() {
			ctx := context.Background()
			info, err := c.Execute(ctx, "SELECT id, fare FROM trips")
			if err != nil {
				errs <- err
				return
			}
			_, rows, err := fetch(ctx, c, info)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			var sum float64
			for _, r := range rows {
				sum += r[1].(float64)
			}
			if len(rows) != tripRows || sum != wantSum {
				errs <- fmt.Errorf("client %d: %d rows, sum %v; want %d, %v", i, len(rows), sum, tripRows, wantSum)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Eventually(t, func() bool { return srv.Stats().WindowsOut == 0 }, 10*time.Second, 10*time.Millisecond)
}

// TestToken: with a token, a call without it or with another one gets
// Unauthenticated, from the client and from the database/sql driver.
func TestToken(t *testing.T) {
	p, _ := trips()
	addr, _ := start(t, p, gateway.WithToken("s3cret"))
	c := newClient(t, addr)
	for _, tt := range []struct {
		name string
		ctx  context.Context
		code codes.Code
	}{
		{"none", context.Background(), codes.Unauthenticated},
		{"wrong", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer guess"), codes.Unauthenticated},
		{"basic", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic czNjcmV0"), codes.Unauthenticated},
		{"right", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret"), codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, err := c.Execute(tt.ctx, "SELECT id FROM trips LIMIT 2")
			if err == nil {
				_, _, err = fetch(tt.ctx, c, info)
			}
			assert.Equal(t, tt.code, status.Code(err), "%v", err)
		})
	}

	db, err := sql.Open("flightsql", "flightsql://"+addr+"?timeout=10s&token=guess")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Query("SELECT id FROM trips")
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)

	db, err = sql.Open("flightsql", "flightsql://"+addr+"?timeout=10s&token=s3cret")
	require.NoError(t, err)
	defer db.Close()
	var id int64
	require.NoError(t, db.QueryRow("SELECT id FROM trips LIMIT 1").Scan(&id))
	assert.Equal(t, int64(1), id)
}

// TestExposure: beyond loopback the gateway refuses to start without
// TLS and a token or client certificates; with them it starts. The
// listener is bound on every address only to be refused or stopped: no
// traffic goes to it.
func TestExposure(t *testing.T) {
	cert := selfSigned(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	mtls := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool()}
	for _, tt := range []struct {
		name string
		opts []gateway.Option
		ok   bool
	}{
		{"plain", nil, false},
		{"token without TLS", []gateway.Option{gateway.WithToken("t")}, false},
		{"TLS without token", []gateway.Option{gateway.WithTLS(tlsCfg)}, false},
		{"TLS and token", []gateway.Option{gateway.WithTLS(tlsCfg), gateway.WithToken("t")}, true},
		{"mutual TLS", []gateway.Option{gateway.WithTLS(mtls)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := gateway.New(func(context.Context) (*content.Client, error) { return nil, content.ErrClosed }, tt.opts...)
			defer g.Close()
			ln, err := net.Listen("tcp", "0.0.0.0:0")
			require.NoError(t, err)
			ctx, stop := context.WithCancel(context.Background())
			if tt.ok {
				stop() // serve, and stop at once
			}
			err = g.Serve(ctx, ln)
			stop()
			ln.Close()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, gateway.ErrInsecure)
			}
		})
	}
}

// TestTLS serves TLS with a token, and mutual TLS, on loopback.
func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	p, _ := trips()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")

	addr, _ := start(t, p, gateway.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}), gateway.WithToken("tok"))
	c := newClient(t, addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})))
	info, err := c.Execute(ctx, "SELECT id FROM trips LIMIT 2")
	require.NoError(t, err)
	_, rows, err := fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{int64(1)}, {int64(2)}}, rows)

	addr, _ = start(t, p, gateway.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots}))
	anon := newClient(t, addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})))
	_, err = anon.Execute(context.Background(), "SELECT id FROM trips LIMIT 2")
	assert.Error(t, err, "a client without a certificate")
	known := newClient(t, addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}})))
	info, err = known.Execute(context.Background(), "SELECT id FROM trips LIMIT 1")
	require.NoError(t, err)
	_, rows, err = fetch(context.Background(), known, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{int64(1)}}, rows)
}

// selfSigned returns a certificate for 127.0.0.1 that signs itself, also
// usable as a client certificate.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cwflight test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestLiteralSQL: SQL text with its values written in it, as BI tools and
// notebooks send it; the values are bound as arguments, never spliced.
func TestLiteralSQL(t *testing.T) {
	p, rows := trips()
	addr, _ := start(t, p)
	c := newClient(t, addr)
	ctx := context.Background()
	n, err := c.ExecuteUpdate(ctx, "UPDATE trips SET tip = 1.5 WHERE id = 7")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	info, err := c.Execute(ctx, "SELECT id, tip FROM trips WHERE id = 7")
	require.NoError(t, err)
	s, got, err := fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Equal(t, [][]any{{int64(7), 1.5}}, got)
	planned, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	require.NoError(t, err, "the FlightInfo carries the result's schema")
	assert.True(t, planned.Equal(s), "planned %v, streamed %v", planned, s)

	// A bad table or selection fails as the statement is planned.
	for _, bad := range []string{"SELECT * FROM nope", "SELECT * FROM trips WHERE nope = 1"} {
		_, err = c.Execute(ctx, bad)
		assert.Error(t, err, "%s: GetFlightInfo", bad)
	}

	info, err = c.Execute(ctx, "SELECT id FROM trips WHERE city = 'Zürich'")
	require.NoError(t, err)
	_, got, err = fetch(ctx, c, info)
	require.NoError(t, err)
	want := 0
	for _, r := range rows {
		if r[1] == "Zürich" {
			want++
		}
	}
	assert.Len(t, got, want)
}

// TestParameterSchema: a prepared statement says what its parameters are,
// as ADBC's GetParameterSchema asks: the column's type for a value it
// sets, int64 for LIMIT ?, the null type (unknown) for a selection's.
func TestParameterSchema(t *testing.T) {
	p, _ := trips()
	addr, _ := start(t, p, gateway.WithParameterTypes(true))
	c := newClient(t, addr)
	ctx := context.Background()
	for _, tt := range []struct {
		sql    string
		update bool
		want   []string
	}{
		{"UPDATE trips SET tip = ?, city = 'Oslo' WHERE id = ?", true, []string{"tip: type=float64, nullable=true", "id: type=int64, nullable=true"}},
		{"INSERT INTO trips (id, city) VALUES (?, ?)", true, []string{"id: type=int64, nullable=true", "city: type=utf8, nullable=true"}},
		{"SELECT * FROM trips WHERE city = ? AND fare BETWEEN ? AND ? LIMIT ?", false,
			[]string{"city: type=utf8, nullable=true", "fare: type=float64, nullable=true", "fare: type=float64, nullable=true", "limit: type=int64, nullable=false"}},
		{"SELECT * FROM trips WHERE ? = 1", false, nil}, // a type not known: no schema, typed by the values
		{"SELECT * FROM trips", false, nil},
	} {
		t.Run(tt.sql, func(t *testing.T) {
			ps, err := c.Prepare(ctx, tt.sql)
			require.NoError(t, err)
			defer ps.Close(ctx)
			var got []string
			if ps.ParameterSchema() == nil {
				assert.Nil(t, tt.want, "no parameter schema")
				return
			}
			for _, f := range ps.ParameterSchema().Fields() {
				got = append(got, fmt.Sprintf("%s: type=%s, nullable=%v", f.Name, f.Type, f.Nullable))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestIngest: ADBC's bulk ingest (DoPutCommandStatementIngest) appends a
// stream of record batches to a table through the provider's bulk insert,
// all or nothing; the modes the gateway cannot honour are refused by name.
func TestIngest(t *testing.T) {
	p, _ := trips()
	addr, _ := start(t, p)
	c := newClient(t, addr)
	ctx := context.Background()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "city", Type: arrow.BinaryTypes.String},
		{Name: "fare", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	batch := func(from, n int) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i := from; i < from+n; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.StringBuilder).Append("Oslo")
			if i%2 == 0 {
				b.Field(2).(*array.Float64Builder).Append(float64(i) / 4)
			} else {
				b.Field(2).AppendNull()
			}
		}
		return b.NewRecordBatch()
	}
	ingest := func(opts *flightsql.ExecuteIngestOpts, recs ...arrow.RecordBatch) (int64, error) {
		rr, err := array.NewRecordReader(schema, recs)
		require.NoError(t, err)
		defer rr.Release()
		return c.ExecuteIngest(ctx, rr, opts)
	}
	appendTo := func(table string) *flightsql.ExecuteIngestOpts {
		return &flightsql.ExecuteIngestOpts{Table: table, TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionFail,
			IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend}}
	}
	n, err := ingest(appendTo("trips"), batch(10_000, 700), batch(10_700, 300))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), n)
	info, err := c.Execute(ctx, "SELECT id, fare FROM trips WHERE city = 'Oslo'")
	require.NoError(t, err)
	_, got, err := fetch(ctx, c, info)
	require.NoError(t, err)
	require.Len(t, got, 1000)
	assert.Equal(t, []any{int64(10_000), 2500.0}, got[0])
	assert.Equal(t, []any{int64(10_999), nil}, got[999])

	_, err = ingest(appendTo("nope"), batch(0, 1))
	assert.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	for _, tt := range []struct {
		exists flightsql.TableDefinitionOptionsTableExistsOption
		code   codes.Code
	}{
		{flightsql.TableDefinitionOptionsTableExistsOptionReplace, codes.Unimplemented},
		{flightsql.TableDefinitionOptionsTableExistsOptionFail, codes.AlreadyExists},
	} {
		opts := appendTo("trips")
		opts.TableDefinitionOptions.IfExists = tt.exists
		_, err = ingest(opts, batch(20_000, 1))
		assert.Equal(t, tt.code, status.Code(err), "%v", err)
	}
	info, err = c.Execute(ctx, "SELECT id FROM trips WHERE city = 'Oslo'")
	require.NoError(t, err)
	_, got, err = fetch(ctx, c, info)
	require.NoError(t, err)
	assert.Len(t, got, 1000, "the refused ingests inserted nothing")
}
