package flightstream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/arrow/gateway"
	"github.com/cursorwindow/cursorwindow/bench/internal/flightstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/grpcstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// The benchmarks hand the wide table (id, fare, a 25-byte city, a
// 64-byte payload) to a consumer, each server in a process of its own
// (the test binary re-executed; FLIGHTBENCH_ROLE names the role) and the
// consumer in the test's process, on loopback TCP:
//
//   - gateway: the Flight SQL gateway (a process) reading a provider (a
//     process: a provider.Server of table.Provider, on a unix socket) and
//     serving Flight SQL; the client runs SELECT * with arrow-go's
//     flightsql client;
//   - grpc: the harness's gRPC stream (1,000 msgpack-encoded rows a
//     message), as bench/cmd/cwbench runs it, over TCP;
//   - flight-memory: a Flight server streaming record batches built
//     before timing from the same table (flightstream): the floor;
//
// and, on one host without a network, from the provider process: a
// content.Cursor reading every value of every row (cursor), and a
// cwarrow.Reader building record batches from the same cursor
// (recordreader).
//
// Every consumer computes table.Checksum, which a transport that skipped
// work would miss. Not part of `make test`; run once with
//
//	make bench-flight    # or, in bench/:
//	go test -run '^$' -bench 'Flight|RecordReader' -benchtime 3x ./internal/flightstream/

const benchRows = 1_000_000

// Roles of the re-executed test binary.
const (
	roleEnv      = "FLIGHTBENCH_ROLE"
	socketEnv    = "FLIGHTBENCH_SOCKET"
	roleProvider = "provider"
	roleGateway  = "gateway"
	roleGRPC     = "grpc"
	roleFlight   = "flight-memory"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		if err := child(role); err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child serves its role until its standard input closes (the parent
// ended or let it go), printing "addr=ADDRESS" once it listens.
func child(role string) error {
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	var (
		ln    net.Listener
		err   error
		serve func(context.Context, net.Listener) error
	)
	switch role {
	case roleProvider:
		t := wide()
		var ul *net.UnixListener
		ul, err = provider.Listen(os.Getenv(socketEnv), 0o600)
		ln = ul
		srv := provider.NewServer(table.NewProvider(t), provider.WithLogger(slog.New(slog.DiscardHandler)))
		serve = func(ctx context.Context, _ net.Listener) error { return srv.Serve(ctx, ul) }
	case roleGateway:
		g := gateway.New(gateway.SocketDialer(os.Getenv(socketEnv)))
		defer g.Close()
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		serve = g.Serve
	case roleGRPC:
		t := wide()
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		serve = func(ctx context.Context, ln net.Listener) error { return grpcstream.Serve(ctx, ln, t) }
	case roleFlight:
		// Batches of about the rows the gateway sends in one (a 2 MiB
		// window's worth); the table goes once they are built.
		recs := flightstream.Records(wide(), 16<<10)
		runtime.GC()
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		serve = func(ctx context.Context, ln net.Listener) error { return flightstream.Serve(ctx, ln, recs) }
	default:
		return fmt.Errorf("no role %q", role)
	}
	if err != nil {
		return err
	}
	fmt.Printf("addr=%s\n", ln.Addr())
	return serve(ctx, ln)
}

func wide() *table.Table {
	t, err := table.New(table.Wide, benchRows)
	if err != nil {
		panic(err)
	}
	return t
}

// start runs a role in a child process until the benchmark ends and
// returns the address it serves on.
func start(b *testing.B, role string, env ...string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), append([]string{roleEnv + "=" + role}, env...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the child's signal to stop
		if err := cmd.Wait(); err != nil {
			b.Errorf("%s: %v", role, err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr=")
	if err != nil || !ok {
		b.Fatalf("%s: %q, %v", role, line, err)
	}
	go io.Copy(io.Discard, out)
	return addr
}

// startProvider runs the provider process and returns its socket.
func startProvider(b *testing.B) string {
	dir, err := os.MkdirTemp("", "flightbench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return start(b, roleProvider, socketEnv+"="+filepath.Join(dir, "p.sock"))
}

// measure runs scan once untimed (the provider's first fill, the
// connections), then once per iteration, and reports rows/s and ns/row,
// checking every scan's checksum.
func measure(b *testing.B, want float64, scan func() (int64, float64, error)) {
	b.ReportAllocs()
	if _, _, err := scan(); err != nil {
		b.Fatal(err)
	}
	var rows int64
	for b.Loop() {
		n, sum, err := scan()
		if err != nil {
			b.Fatal(err)
		}
		if n != benchRows || sum != want {
			b.Fatalf("%d rows, checksum %v; want %d, %v", n, sum, benchRows, want)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// BenchmarkFlight scans the 1,000,000-row wide table through the
// gateway, the harness's gRPC stream and a Flight server of Arrow
// memory, on loopback TCP.
func BenchmarkFlight(b *testing.B) {
	want := table.Sum(table.Wide, benchRows)

	b.Run("transport=gateway/rows=1e6", func(b *testing.B) {
		addr := start(b, roleGateway, socketEnv+"="+startProvider(b))
		c, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		measure(b, want, func() (int64, float64, error) {
			ctx := context.Background()
			info, err := c.Execute(ctx, "SELECT * FROM wide")
			if err != nil {
				return 0, 0, err
			}
			r, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
			if err != nil {
				return 0, 0, err
			}
			defer r.Release()
			return flightstream.Sum(r)
		})
	})

	b.Run("transport=grpc/rows=1e6", func(b *testing.B) {
		c, err := grpcstream.DialTarget(start(b, roleGRPC))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		measure(b, want, func() (int64, float64, error) {
			s, err := c.Scan(context.Background(), &grpcstream.Request{Table: table.Wide})
			if err != nil {
				return 0, 0, err
			}
			var (
				rows int64
				sum  float64
			)
			for {
				var batch grpcstream.Batch
				if err := s.Recv(&batch); errors.Is(err, io.EOF) {
					return rows, sum, nil
				} else if err != nil {
					return rows, sum, err
				}
				for _, r := range batch.Rows {
					sum += float64(r.ID) + r.Fare + float64(len(r.City)+len(r.Payload))
				}
				rows += int64(len(batch.Rows))
			}
		})
	})

	b.Run("transport=flight-memory/rows=1e6", func(b *testing.B) {
		c, err := flightstream.Dial(start(b, roleFlight))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		measure(b, want, func() (int64, float64, error) {
			stream, err := c.DoGet(context.Background(), &flight.Ticket{Ticket: []byte(table.Wide)})
			if err != nil {
				return 0, 0, err
			}
			r, err := flight.NewRecordReader(stream)
			if err != nil {
				return 0, 0, err
			}
			defer r.Release()
			return flightstream.Sum(r)
		})
	})
}

// BenchmarkRecordReader measures what building Arrow batches costs on
// top of reading the same rows through a cursor, on one host.
func BenchmarkRecordReader(b *testing.B) {
	want := table.Sum(table.Wide, benchRows)
	c, err := content.Dial(context.Background(), startProvider(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	q := &content.Query{URI: table.Wide}

	b.Run("read=cursor/rows=1e6", func(b *testing.B) {
		measure(b, want, func() (int64, float64, error) {
			cur, err := c.Query(context.Background(), q)
			if err != nil {
				return 0, 0, err
			}
			defer cur.Close()
			var (
				rows int64
				sum  float64
			)
			for cur.Next() {
				id, err1 := cur.Int64(0)
				fare, err2 := cur.Float64(1)
				city, err3 := cur.StringView(2)
				payload, err4 := cur.Bytes(3)
				if err := errors.Join(err1, err2, err3, err4); err != nil {
					return rows, sum, err
				}
				sum += float64(id) + fare + float64(len(city)+len(payload))
				rows++
			}
			return rows, sum, cur.Err()
		})
	})

	// Batches over the windows (the default), and copied out of them.
	for _, rt := range []struct {
		name string
		opts []cwarrow.Option
	}{{"recordreader", nil}, {"recordreader-copied", []cwarrow.Option{cwarrow.WithCopiedBatches()}}} {
		b.Run("read="+rt.name+"/rows=1e6", func(b *testing.B) {
			measure(b, want, func() (int64, float64, error) {
				cur, err := c.Query(context.Background(), q)
				if err != nil {
					return 0, 0, err
				}
				r, err := cwarrow.NewReader(cur, rt.opts...)
				if err != nil {
					return 0, 0, err
				}
				defer r.Release()
				return flightstream.Sum(r)
			})
		})
	}
}
