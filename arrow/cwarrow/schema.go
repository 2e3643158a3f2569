package cwarrow

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/window"
)

// MetadataDeclaredType is the key of a field's metadata that holds the
// column's declared type as the provider named it ("INTEGER", "TEXT",
// ...), when it declared one.
const MetadataDeclaredType = "cursorwindow.declared_type"

// DeclaredType returns the window field type a declared column type
// stands for, by SQLite's rules for a column's affinity (in this order:
// a name containing INT is INTEGER, CHAR, CLOB or TEXT is TEXT, BLOB is
// BLOB, REAL, FLOA or DOUB is REAL), and false for a type that decides
// nothing: none at all, and NUMERIC affinity (NUMERIC, DECIMAL, BOOLEAN,
// DATE, ...), whose fields SQLite stores as integers, reals or text as
// each value reads. Providers that are not SQLite name their types in
// the same words often enough (BIGINT, VARCHAR, DOUBLE).
func DeclaredType(declared string) (window.FieldType, bool) {
	d := strings.ToUpper(declared)
	switch {
	case strings.Contains(d, "INT"):
		return window.TypeInt64, true
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return window.TypeString, true
	case strings.Contains(d, "BLOB"):
		return window.TypeBlob, true
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return window.TypeFloat64, true
	}
	return window.TypeNull, false
}

// ArrowType returns the Arrow type of a column of window type t: Int64,
// Float64, String (LargeString if large), Binary (LargeBinary) and, for
// TypeNull (a column of NULLs only), Null.
func ArrowType(t window.FieldType, large bool) arrow.DataType {
	switch t {
	case window.TypeInt64:
		return arrow.PrimitiveTypes.Int64
	case window.TypeFloat64:
		return arrow.PrimitiveTypes.Float64
	case window.TypeString:
		if large {
			return arrow.BinaryTypes.LargeString
		}
		return arrow.BinaryTypes.String
	case window.TypeBlob:
		if large {
			return arrow.BinaryTypes.LargeBinary
		}
		return arrow.BinaryTypes.Binary
	}
	return arrow.Null
}

// Schema returns the schema of columns of the given names and window
// types, with the declared types (nil, or one per column) as field
// metadata and nullability: a column is nullable unless the provider
// declared it NOT NULL.
func Schema(names []string, types []window.FieldType, declared []content.ColumnType, large bool) *arrow.Schema {
	fields := make([]arrow.Field, len(names))
	for i, name := range names {
		f := arrow.Field{Name: name, Type: ArrowType(types[i], large), Nullable: true}
		if i < len(declared) {
			ct := declared[i]
			if ct.NullableKnown && !ct.Nullable && types[i] != window.TypeNull {
				f.Nullable = false
			}
			if ct.DatabaseType != "" {
				f.Metadata = arrow.NewMetadata([]string{MetadataDeclaredType}, []string{ct.DatabaseType})
			}
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}
