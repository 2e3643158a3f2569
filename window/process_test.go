package window_test

import (
	"fmt"
	"hash/crc64"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/window"
)

// childEnv selects the child role when the test binary re-executes itself.
const childEnv = "CURSORWINDOW_WINDOW_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "read":
		os.Exit(childRead())
	case "truncated":
		os.Exit(truncatedChild())
	case "":
	default:
		os.Exit(backingChild(os.Getenv(childEnv)))
	}
	code := m.Run()
	// Nothing the tests made may outlive them: no shm object, no segment.
	if left := leftovers(); len(left) > 0 {
		fmt.Println("left behind:", left)
		code = 1
	}
	os.Exit(code)
}

// childRead opens the window inherited as fd 3, reads every value and
// prints the row count and a checksum of everything it read.
func childRead() int {
	f := os.NewFile(3, "inherited")
	r, err := window.Open(f)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	f.Close()
	defer r.Close()
	sum, err := checksum(r)
	if err != nil {
		fmt.Println("read:", err)
		return 1
	}
	fmt.Printf("rows=%d start=%d sum=%016x\n", r.NumRows(), r.StartPos(), sum)
	return 0
}

// checksum folds every value of the window, by type, into a CRC-64.
func checksum(r *window.Window) (uint64, error) {
	tab := crc64.MakeTable(crc64.ECMA)
	var sum uint64
	var buf [8]byte
	for row := range r.NumRows() {
		for col := range r.NumColumns() {
			t, err := r.Type(row, col)
			if err != nil {
				return 0, err
			}
			sum = crc64.Update(sum, tab, []byte{byte(t)})
			switch t {
			case window.TypeInt64:
				v, err := r.Int64(row, col)
				if err != nil {
					return 0, err
				}
				le64(buf[:], uint64(v))
				sum = crc64.Update(sum, tab, buf[:])
			case window.TypeFloat64:
				v, err := r.Float64(row, col)
				if err != nil {
					return 0, err
				}
				le64(buf[:], math.Float64bits(v))
				sum = crc64.Update(sum, tab, buf[:])
			case window.TypeString, window.TypeBlob:
				b, err := r.Bytes(row, col)
				if err != nil {
					return 0, err
				}
				sum = crc64.Update(sum, tab, b)
			}
		}
	}
	return sum, nil
}

func le64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func TestSecondProcessReadsEveryValue(t *testing.T) {
	checkLeaks(t)
	for _, reusable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reusable=%v", reusable), func(t *testing.T) {
			w := newMemfd(t, 5, window.WithStartPos(1000))
			rows := sampleRows(5000)
			writeRows(t, w, rows[:10])
			for _, r := range rows[10:] {
				require.NoError(t, w.AllocRow())
				for c, v := range r {
					require.NoError(t, put(w, c, v))
				}
			}
			if reusable {
				require.NoError(t, w.SealReusable())
			} else {
				require.NoError(t, w.Seal())
			}
			local, err := window.Open(w.File())
			require.NoError(t, err)
			want, err := checksum(local)
			require.NoError(t, err)
			require.NoError(t, local.Close())

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=read")
			cmd.ExtraFiles = []*os.File{w.File()}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "child: %s", out)
			assert.Equal(t, fmt.Sprintf("rows=5000 start=1000 sum=%016x", want), strings.TrimSpace(string(out)))
			require.NoError(t, w.Close())
		})
	}
}
