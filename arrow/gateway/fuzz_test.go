package gateway

import (
	"bytes"
	"math"
	"testing"
)

// FuzzHandle decodes statement handles, which clients send and may
// forge: any error is fine, a panic is not, and whatever decodes
// encodes back to the same bytes.
func FuzzHandle(f *testing.F) {
	for _, args := range [][]any{
		nil,
		{int64(1), 2.5, "three", []byte{4}, nil},
		{int64(math.MinInt64), math.Inf(-1), "", []byte{}},
	} {
		h, err := encodeHandle("SELECT * FROM t WHERE a = ?", args)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h)
	}
	f.Add([]byte("cw1"))
	f.Add([]byte("cw1\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHandle(b)
		if err != nil {
			return
		}
		again, err := encodeHandle(h.SQL, h.Args)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", b, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded %q, encodes as %q", b, again)
		}
	})
}

func TestHandleOverlong(t *testing.T) {
	if _, err := decodeHandle([]byte("cw1\x80\x00\x00")); err == nil {
		t.Fatal("an overlong length decoded")
	}
	h, err := decodeHandle([]byte("cw1\x00\x00"))
	if err != nil || h.SQL != "" || h.Args != nil {
		t.Fatalf("the shortest handle: %+v, %v", h, err)
	}
}
