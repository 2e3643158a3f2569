package gateway

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cursorwindow/cursorwindow/content"
)

// Each sentinel a statement can fail with reaches a Flight SQL client
// with its gRPC code and its text.
func TestStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{content.ErrNotFound, codes.NotFound},
		{content.ErrBadRequest, codes.InvalidArgument},
		{content.ErrBusy, codes.ResourceExhausted},
		{content.ErrChanged, codes.Aborted},
		{content.ErrProviderGone, codes.Unavailable},
		{content.ErrNoProvider, codes.Unavailable},
		{fmt.Errorf("plain"), codes.Internal},
	} {
		err := fmt.Errorf("wrapped: %w", tc.err)
		st, ok := status.FromError(toStatus(err))
		if assert.True(t, ok) {
			assert.Equal(t, tc.code, st.Code(), "%v", tc.err)
			assert.Equal(t, err.Error(), st.Message())
		}
	}
}
