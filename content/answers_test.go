package content_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/content/contenttest"
	"github.com/cursorwindow/cursorwindow/content/provider"
	"github.com/cursorwindow/cursorwindow/fdpass"
)

// Wire codes of the messages these tests send and expect (PROTOCOL.md).
const (
	wireHello      = 1
	wireQuery      = 3
	wireWindow     = 4
	wireFillWindow = 5
	wireError      = 8
	wireOK         = 9
	wireRegister   = 10
	// wireVersion is the protocol version a hello carries.
	wireVersion = 2
)

// rawSession dials path, says hello and returns the connection.
func rawSession(t testing.TB, path string) *net.UnixConn {
	t.Helper()
	c := rawDial(t, path)
	t.Cleanup(func() { c.Close() })
	rawSend(t, c, wireHello, map[string]any{"v": wireVersion})
	typ, _ := rawRecv(t, c)
	require.Equal(t, uint16(2), typ, "helloReply")
	return c
}

// uncounted hides the rows' Count: the provider learns the end of the
// result only by reaching it.
type uncounted struct{ provider.Rows }

// uncountedSeeker is a Seeker provider whose rows do not know their count.
type uncountedSeeker struct{ *seekingProvider }

func (p uncountedSeeker) Query(ctx context.Context, q *content.Query) (provider.Rows, error) {
	rows, err := p.seekingProvider.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return uncounted{rows}, nil
}

func (p uncountedSeeker) QueryAt(ctx context.Context, q *content.Query, start int64) (provider.Rows, error) {
	rows, err := p.seekingProvider.QueryAt(ctx, q, start)
	if err != nil {
		return nil, err
	}
	return uncounted{rows}, nil
}

// A window asked for past the end of the result is the empty last window
// at the end, s = n (PROTOCOL.md, "Asking for windows"), however far past
// it the request is and whatever the provider knows of its count; the
// next window continues from the end, not from the position asked for.
func TestFillWindowPastTheEndAnswersTheEnd(t *testing.T) {
	const n = 3000
	seeker := func() *seekingProvider {
		p := &seekingProvider{MemProvider: contenttest.NewMemProvider()}
		p.AddTable("trips", []string{"id", "fare", "city", "payload"}, tripRows(n))
		return p
	}
	for _, tc := range []struct {
		name string
		p    provider.Provider
	}{
		{"stepping provider", newProvider(n)},
		{"seeker that counts", seeker()},
		{"seeker that does not count", uncountedSeeker{seeker()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := startServer(t, tc.p, provider.WithWindowSize(64<<10), provider.WithSharedWindows(false))
			for i, s := range []int64{n, n + 1, n + seekJumpPlus, 1e12, math.MaxInt64} {
				c := rawSession(t, path)
				rawSend(t, c, wireQuery, map[string]any{"r": 2, "u": "trips", "i": true})
				typ, first := rawRecv(t, c)
				require.Equal(t, uint16(wireWindow), typ, "the first window: %v", first)
				require.Less(t, intOf(t, first["k"]), int64(n), "the result takes several windows")
				for j, ask := range []int64{s, -1} {
					rawSend(t, c, wireFillWindow, map[string]any{"r": 3 + j, "q": 2, "s": ask})
					typ, w := rawRecv(t, c)
					require.Equal(t, uint16(wireWindow), typ, "case %d (s=%d): %v", i, ask, w)
					assert.Equal(t, int64(n), intOf(t, w["s"]), "s = n for s=%d", ask)
					assert.Equal(t, int64(n), intOf(t, w["n"]), "the count for s=%d", ask)
					assert.Zero(t, intOf(t, w["k"]), "no rows for s=%d", ask)
					assert.Equal(t, true, w["e"], "the last window for s=%d", ask)
				}
			}
		})
	}
}

// seekJumpPlus is past the distance at which a Seeker provider is asked
// to start at the position (the server's seekJump, 1024).
const seekJumpPlus = 2048

// Every decodable request gets exactly one answer, however long and
// strange its strings: an error quotes at most a short prefix of a URI
// or a selection, so its reply never outgrows the body limit (a URI of
// 300,000 NULs quoted whole is 1.2 MB), and the connection goes on.
func TestHostileStringsAreAnswered(t *testing.T) {
	refuse := func(_ fdpass.Cred, _ content.Op, uri string) error {
		if uri == "trips" {
			return nil
		}
		return fmt.Errorf("only trips, not %q", uri) // quoting it whole, as a careless Permission does
	}
	nuls := strings.Repeat("\x00", 300_000)
	ffff := strings.Repeat("\uffff", 200_000)
	for _, tc := range []struct {
		name string
		opts []provider.ServerOption
		code string
	}{
		{"the provider's not_found", nil, "not_found"},
		{"the Permission's refusal", []provider.ServerOption{provider.WithPermission(refuse)}, "permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := startServer(t, newProvider(10), tc.opts...)
			c := rawSession(t, path)
			req := 2
			ask := func(body map[string]any, code string) {
				t.Helper()
				body["r"] = req
				rawSend(t, c, wireQuery, body)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second))) // a hang guard only
				typ, m := rawRecv(t, c)
				require.Equal(t, uint16(wireError), typ, "an error answers: %v", m["m"])
				assert.Equal(t, int64(req), intOf(t, m["r"]))
				assert.Equal(t, code, m["c"])
				msg, _ := m["m"].(string)
				assert.LessOrEqual(t, len(msg), 2048, "the text is bounded")
				assert.True(t, utf8.ValidString(msg), "cut at a character boundary")
				req++
			}
			for _, uri := range []string{nuls, ffff} {
				ask(map[string]any{"u": uri}, tc.code)
				if tc.code == "not_found" {
					ask(map[string]any{"u": "trips", "s": uri}, "bad_request")
				}
				rawSend(t, c, wireQuery, map[string]any{"r": req, "u": "trips", "i": true})
				typ, m := rawRecv(t, c)
				require.Equal(t, uint16(wireWindow), typ, "the connection goes on: %v", m)
				assert.Equal(t, int64(10), intOf(t, m["k"]))
				req++
			}
		})
	}
}

// A consumer that sends a message only a provider sends (a window, an
// error, ...) loses its connection at once, whether or not the body
// decodes: it is not speaking the protocol.
func TestProviderOnlyFramesCloseTheConnection(t *testing.T) {
	path, s := startServer(t, newProvider(10))
	for _, code := range []uint16{2, wireWindow, wireError, wireOK, 12, 14, 17} {
		for _, body := range []struct {
			name string
			b    []byte
		}{
			{"decodable", func() []byte { b, _ := msgpack.Marshal(map[string]any{"r": 1}); return b }()},
			{"undecodable", []byte{0xc1}},
		} {
			t.Run(fmt.Sprintf("type %d %s", code, body.name), func(t *testing.T) {
				c := rawSession(t, path)
				_, err := c.Write(append(frameHeader(code, uint32(len(body.b)), 0), body.b...))
				require.NoError(t, err)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second))) // a hang guard only
				_, err = c.Read(make([]byte, 1))
				require.ErrorIs(t, err, io.EOF, "the provider hangs up")
			})
		}
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, 10*time.Second, time.Millisecond)
}
