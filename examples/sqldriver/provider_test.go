// These are tests of package sqldriver (the library's module) that need
// the example SQLite provider and modernc.org/sqlite: they live in the
// examples module, which requires both, so that the library's go.mod
// does not. `make test` runs them (make examples-module).
package sqldriver_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/cursorwindow/cursorwindow/examples/internal/exampletest"
)

// The tests run the real example provider (examples/provider, a SQLite
// provider) as a separate process, built once per test run.

// TestMain removes the provider binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	exampletest.Cleanup()
	os.Exit(code)
}

// providerBinary builds examples/provider once per run.
func providerBinary(t testing.TB) string {
	t.Helper()
	return exampletest.Build(t, "github.com/cursorwindow/cursorwindow/examples/provider")[0]
}

// startProvider runs the provider, its log level warn, with args (--db
// FILE, or --rows N for the sample database, whose cache is in the test's
// directory unless env sets XDG_CACHE_HOME), waits until it listens, and
// stops it when the test ends.
func startProvider(t testing.TB, env []string, args ...string) *exampletest.Provider {
	t.Helper()
	return exampletest.StartProvider(t, providerBinary(t), env, append([]string{"--log-level", "warn"}, args...)...)
}

// sampleDB returns the sample database of rows trips that p generated.
func sampleDB(p *exampletest.Provider, rows int) string {
	return filepath.Join(p.Cache, "cursorwindow", fmt.Sprintf("sample-v1-%d.db", rows))
}

// openSQLite opens a SQLite file with modernc.org/sqlite's database/sql
// driver, read-only unless rw.
func openSQLite(t testing.TB, path string, rw bool) *sql.DB {
	t.Helper()
	mode := "ro"
	if rw {
		mode = "rwc"
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode="+mode+"&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
