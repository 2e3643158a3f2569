package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/cursorwindow/cursorwindow/bench/internal/fdrtt"
	"github.com/cursorwindow/cursorwindow/bench/internal/grpcstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/mpstream"
	"github.com/cursorwindow/cursorwindow/bench/internal/table"
	"github.com/cursorwindow/cursorwindow/content/provider"
)

// Sockets of the provider process, in its directory.
const (
	sockShared  = "cw.sock"      // cursorwindow, default settings (sharing on)
	sockFilled  = "cwfill.sock"  // cursorwindow, sharing off: every query fills
	sockBig     = "cwbig.sock"   // cursorwindow, one window holds the whole table
	sockMsgpack = "msgpack.sock" // msgpack stream
	sockGRPC    = "grpc.sock"    // gRPC
	sockFDRaw   = "fdraw.sock"   // descriptor round trip, raw syscalls
	sockFDNet   = "fdnet.sock"   // descriptor round trip, net.UnixConn
)

// handoffSizes are the window sizes of the handoff workload; each has its
// own server on socket handoffSock(size).
var handoffSizes = []int64{256 << 10, 2 << 20, 8 << 20}

func handoffSock(size int64) string { return fmt.Sprintf("cwhandoff-%d.sock", size>>10) }

// handoffRows is how many wide rows a query of the handoff workload asks
// for: about 90 % of a window of size bytes (wideRowBytes a row).
func handoffRows(size int64, tableRows int) int64 {
	return min(size*9/10/wideRowBytes, int64(tableRows))
}

// bigWindow is the window size of the server that answers a whole table
// in one window (the read-efficiency workload).
func bigWindow(rows int) int64 {
	size := int64(4 << 20)
	for size < int64(rows)*160+(1<<20) {
		size *= 2
	}
	return size
}

// runProvider serves every transport (or the one s.Only names) from the
// same tables until SIGTERM.
func runProvider(s childSpec) error {
	wide, err := table.New(table.Wide, s.Rows)
	if err != nil {
		return err
	}
	narrow, err := table.New(table.Narrow, s.Rows)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	quiet := provider.WithLogger(slog.New(slog.DiscardHandler))
	prov := table.NewProvider(wide, narrow)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	serve := func(name string, f func(ln *net.UnixListener) error) error {
		ln, err := provider.Listen(filepath.Join(s.Dir, name), 0o600)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ln); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
		return nil
	}
	cw := func(opts ...provider.ServerOption) func(*net.UnixListener) error {
		srv := provider.NewServer(prov, append(opts, quiet)...)
		return func(ln *net.UnixListener) error { return srv.Serve(ctx, ln) }
	}
	type service struct {
		only string
		sock string
		f    func(*net.UnixListener) error
	}
	services := []service{
		{transportCW, sockShared, cw()},
		{"", sockFilled, cw(provider.WithSharedWindows(false))},
		{"", sockBig, cw(provider.WithWindowSize(bigWindow(s.Rows)), provider.WithMemoryBudget(2*bigWindow(s.Rows)))},
		{transportMsgpack, sockMsgpack, func(ln *net.UnixListener) error { return mpstream.Serve(ctx, ln, wide, narrow) }},
		{transportGRPC, sockGRPC, func(ln *net.UnixListener) error { return grpcstream.Serve(ctx, ln, wide, narrow) }},
		{"", sockFDRaw, func(ln *net.UnixListener) error { return fdrtt.Serve(ctx, ln, 2<<20, true) }},
		{"", sockFDNet, func(ln *net.UnixListener) error { return fdrtt.Serve(ctx, ln, 2<<20, false) }},
	}
	for _, size := range handoffSizes {
		services = append(services, service{"", handoffSock(size), cw(provider.WithWindowSize(size))})
	}
	for _, sv := range services {
		if s.Only != "" && sv.only != s.Only {
			continue
		}
		if err := serve(sv.sock, sv.f); err != nil {
			stop()
			wg.Wait()
			return err
		}
	}
	fmt.Println("ready")
	select {
	case <-ctx.Done():
	case err = <-errs:
		stop()
	}
	wg.Wait()
	return err
}
