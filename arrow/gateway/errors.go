package gateway

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/arrow/cwarrow"
	"github.com/cursorwindow/cursorwindow/content"
)

// ErrInsecure reports a gateway asked to serve beyond loopback without
// TLS, or without a token or client certificates.
var ErrInsecure = errors.New("gateway: insecure")

// codeList maps errors to gRPC codes, in the order they are tried: an
// error that wraps two of them gets the first one's code.
var codeList = []struct {
	err  error
	code codes.Code
}{
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{content.ErrPermission, codes.PermissionDenied},
	{content.ErrNotFound, codes.NotFound},
	{content.ErrUnsupported, codes.Unimplemented}, // also SQL outside the subset (sqlparse)
	{content.ErrBadRequest, codes.InvalidArgument},
	{content.ErrBusy, codes.ResourceExhausted},
	{content.ErrChanged, codes.Aborted}, // a concurrency conflict: retry the whole statement
	{content.ErrProviderGone, codes.Unavailable},
	{content.ErrNoProvider, codes.Unavailable},
	{content.ErrClosed, codes.Unavailable},
	{cwarrow.ErrMixedTypes, codes.Internal},
	{cwarrow.ErrInvalidUTF8, codes.Internal},
	{cwarrow.ErrNotNull, codes.Internal},
	{cwarrow.ErrTooLarge, codes.ResourceExhausted},
}

// toStatus returns err as a gRPC status error with the code its
// sentinel has (codes.Internal for anything else), keeping its text.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, c := range codeList {
		if errors.Is(err, c.err) {
			return status.Error(c.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}
