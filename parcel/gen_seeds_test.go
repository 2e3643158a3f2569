package parcel_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestGenerateFuzzSeeds rewrites testdata/fuzz/FuzzReadParcel when
// PARCEL_GEN_SEEDS=1.
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("PARCEL_GEN_SEEDS") != "1" {
		t.Skip("set PARCEL_GEN_SEEDS=1 to regenerate the seed corpus")
	}
	mp := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fast := windowFast(sampleWindow)
	fastBody := mp(&fast)
	notifyBody := mp(&notify{URI: "content://x", Tags: []string{"t"}, Args: []any{1, "a", nil}, Extra: map[string]any{"k": []any{1.5}}})
	deep := append(bytes.Repeat([]byte{0x91}, 70), 0xc0)
	seeds := map[string]struct {
		data []byte
		fdAt uint16
		nfds uint8
	}{
		"ping":              {validFrame(typePing, mp(&ping{Seq: 1}), 0), 0, 0},
		"window-1fd":        {validFrame(typeWindow, mp(&sampleWindow), 1), 0, 1},
		"windowfast-2fd":    {validFrame(typeWindowFast, fastBody, 2), 0, 2},
		"error":             {validFrame(typeError, mp(&errorMsg{Code: 5, Message: "m"}), 0), 0, 0},
		"notify":            {validFrame(typeNotify, notifyBody, 0), 0, 0},
		"blob":              {validFrame(typeBlob, mp(&blob{Data: []byte("d"), Nums: []int64{1, -1}}), 0), 0, 0},
		"two-frames-fds":    {append(validFrame(typePing, mp(&ping{Seq: 2}), 0), validFrame(typePing, mp(&ping{Seq: 3}), 1)...), 16 + 9, 1},
		"4GiB":              {frame{magic: "CWPL", version: 1, typ: typeBlob, bodyLen: 1<<32 - 1}.header(), 0, 0},
		"fd-mismatch":       {validFrame(typePing, mp(&ping{}), 3), 0, 1},
		"fd-in-body":        {validFrame(typeBlob, mp(&blob{Data: make([]byte, 40)}), 0), 30, 1},
		"huge-array":        {validFrame(typeBlob, []byte{0x81, 0xa1, 'n', 0xdd, 0xff, 0xff, 0xff, 0xff, 1}, 0), 0, 0},
		"huge-map":          {validFrame(typeNotify, []byte{0x81, 0xa5, 'e', 'x', 't', 'r', 'a', 0xdf, 0x7f, 0xff, 0xff, 0xff}, 0), 0, 0},
		"deep":              {validFrame(typeNotify, append([]byte{0x81, 0xa4, 'a', 'r', 'g', 's'}, deep...), 0), 0, 0},
		"unknown-type":      {validFrame(999, mp(&ping{}), 1), 0, 1},
		"bad-magic":         {[]byte("GET / HTTP/1.1\r\n\r\n"), 0, 0},
		"truncated":         {validFrame(typeWindow, mp(&sampleWindow), 0)[:20], 0, 0},
		"windowfast-badlen": {validFrame(typeWindowFast, []byte{0x92, 1, 2}, 0), 0, 0},
		"ext-time":          {validFrame(typeNotify, mp(&notify{Args: []any{time.Unix(1700000000, 5).UTC()}}), 0), 0, 0},
		"fastping":          {validFrame(typeFastPing, mp(&fastPing{Seq: 7}), 0), 0, 0},
		"fastping-panic":    {validFrame(typeFastPing, mp(&fastPing{Seq: 255}), 0), 0, 0},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadParcel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\nuint8(%d)\n", s.data, s.fdAt, s.nfds)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
