package sqlparse_test

import (
	"testing"

	"github.com/cursorwindow/cursorwindow/sqldriver/sqlparse"
)

func BenchmarkParse(b *testing.B) {
	for _, q := range []struct{ name, sql string }{
		{"short", "SELECT * FROM trips WHERE id = ?"},
		{"long", "SELECT id, started_at, city, fare, tip FROM trips WHERE city = ? AND fare > ? AND tip IS NOT NULL ORDER BY fare DESC, id LIMIT 100"},
	} {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(q.sql)))
			for b.Loop() {
				if _, err := sqlparse.Parse(q.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
