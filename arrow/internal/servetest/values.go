package servetest

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Values returns the rows of rec as Go values, as a provider's rows
// hold them: int64, float64, string, []byte (a copy), nil for NULL.
func Values(rec arrow.RecordBatch) ([][]any, error) {
	rows := make([][]any, rec.NumRows())
	for i := range rows {
		rows[i] = make([]any, rec.NumCols())
	}
	for j, col := range rec.Columns() {
		for i := range rows {
			if col.IsNull(i) {
				continue
			}
			var v any
			switch a := col.(type) {
			case *array.Null: // NULLs, whatever IsNull says
			case *array.Int64:
				v = a.Value(i)
			case *array.Float64:
				v = a.Value(i)
			case *array.String:
				v = a.Value(i)
			case *array.LargeString:
				v = a.Value(i)
			case *array.Binary:
				v = bytes.Clone(a.Value(i))
			case *array.LargeBinary:
				v = bytes.Clone(a.Value(i))
			default:
				return nil, fmt.Errorf("column %d (%s): unexpected %T", j, rec.ColumnName(j), col)
			}
			rows[i][j] = v
		}
	}
	return rows, nil
}
