package gateway

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// bearer checks every call's "authorization: Bearer <token>" header.
type bearer struct {
	token string
	log   *slog.Logger
}

func (b *bearer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := b.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (b *bearer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if err := b.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return next(srv, ss)
}

// check returns nil for a call that carries the token, and an
// Unauthenticated status otherwise. The comparison takes the same time
// whatever the token sent.
func (b *bearer) check(ctx context.Context, method string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	var sent string
	for _, v := range md.Get("authorization") {
		if t, ok := cutPrefixFold(v, "Bearer "); ok {
			sent = t
			break
		}
	}
	if sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(b.token)) == 1 {
		return nil
	}
	why := "no bearer token"
	if sent != "" {
		why = "the bearer token was refused"
	}
	addr := ""
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr.String()
	}
	b.log.Warn("refused a call", "peer", addr, "method", method, "reason", why)
	return status.Errorf(codes.Unauthenticated, "cwflight: %s", why)
}

// cutPrefixFold is strings.CutPrefix ignoring the prefix's case (HTTP
// authorization schemes are case-insensitive).
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
