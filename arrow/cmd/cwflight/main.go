// Command cwflight is a Flight SQL gateway: it connects to a cursorwindow
// provider's unix socket as a consumer and serves the provider's tables
// over Arrow Flight SQL on TCP, to any Flight SQL client (arrow-go's
// flightsql client and database/sql driver, ADBC, JDBC, pyarrow) on this
// host or others.
//
// Usage:
//
//	cwflight [--socket PATH] [--listen ADDR] [--tls-cert FILE --tls-key FILE]
//	         [--client-ca FILE] [--token-file FILE] [--read-only] [--parameter-types]
//	         [--batch-bytes N] [--log-level debug|info|warn|error]
//
// It listens on 127.0.0.1:32010 by default, and logs the address it
// serves on ("serving addr=..."); --listen 127.0.0.1:0 picks a free
// port. On an address other than loopback it refuses to start unless it
// has TLS (--tls-cert, --tls-key) and a bearer token (--token-file, or
// $CWFLIGHT_TOKEN) or client certificates (--client-ca: mutual TLS).
// A call without the token, or with another one, fails with
// Unauthenticated.
//
// The SQL it accepts is the subset package sqlparse reads (the one
// sqldriver accepts): SELECT of one table with a selection of ? placeholders, an
// order and a limit; INSERT, UPDATE and DELETE as updates. Statements
// with placeholders are prepared and their parameters bound, as Flight
// SQL clients do when given arguments. Every remote stream reads one
// provider cursor; cancelling the stream closes it.
//
// SIGINT or SIGTERM stop it: streams in flight are cancelled.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cursorwindow/cursorwindow/arrow/gateway"
	"github.com/cursorwindow/cursorwindow/content"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cwflight:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cwflight", flag.ContinueOnError)
	var (
		socket     = fs.String("socket", content.DefaultSocketPath(), "the provider's unix socket")
		listen     = fs.String("listen", "127.0.0.1:32010", "the TCP address to serve Flight SQL on")
		certFile   = fs.String("tls-cert", "", "TLS certificate (PEM); serving beyond loopback needs it")
		keyFile    = fs.String("tls-key", "", "TLS private key (PEM)")
		clientCA   = fs.String("client-ca", "", "require client certificates signed by these CAs (PEM): mutual TLS")
		tokenFile  = fs.String("token-file", "", "a file holding the bearer token every call must carry (or $CWFLIGHT_TOKEN)")
		readOnly   = fs.Bool("read-only", false, "refuse INSERT, UPDATE and DELETE")
		batchBytes = fs.Int64("batch-bytes", gateway.DefaultBatchBytes, "the most bytes of values in one record batch (one Flight message)")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
		paramTypes = fs.Bool("parameter-types", false, "prepared statements declare their parameters' types (ADBC's GetParameterSchema);\narrow-go's database/sql driver then binds strictly to them")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := []gateway.Option{gateway.WithLogger(log), gateway.WithBatchBytes(*batchBytes), gateway.WithParameterTypes(*paramTypes)}
	if *readOnly {
		opts = append(opts, gateway.WithReadOnly())
	}
	tlsCfg, err := tlsConfig(*certFile, *keyFile, *clientCA)
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		opts = append(opts, gateway.WithTLS(tlsCfg))
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	if token != "" {
		opts = append(opts, gateway.WithToken(token))
	}

	if *socket == content.DefaultSocketPath() || *socket == content.SharedSocketPath() {
		if err := content.CheckSocketDir(*socket); err != nil {
			return err
		}
	}
	g := gateway.New(gateway.SocketDialer(*socket), opts...)
	defer g.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("serving", "addr", ln.Addr().String(), "socket", *socket, "tls", tlsCfg != nil,
		"mtls", *clientCA != "", "token", token != "", "read_only", *readOnly)
	if err := g.Serve(ctx, ln); err != nil {
		ln.Close()
		return err
	}
	log.Info("stopped")
	return nil
}

// tlsConfig returns the TLS configuration the flags ask for, nil for
// none.
func tlsConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		if clientCA != "" {
			return nil, fmt.Errorf("%w: --client-ca needs --tls-cert and --tls-key", errUsage)
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificate in it", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// readToken returns the bearer token from the file, else from
// $CWFLIGHT_TOKEN (never from a flag: other users see a process's
// arguments).
func readToken(file string) (string, error) {
	if file == "" {
		return os.Getenv("CWFLIGHT_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--token-file %s is empty", file)
	}
	return t, nil
}
