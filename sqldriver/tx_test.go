package sqldriver_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cursorwindow/cursorwindow/content"
	"github.com/cursorwindow/cursorwindow/sqldriver"
)

func countPlanets(t *testing.T, db *sql.DB) int {
	var n int
	rows, err := db.Query("SELECT name FROM planets")
	require.NoError(t, err)
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err())
	return n
}

// A transaction's writes are applied together at Commit, and their
// results known from then on.
func TestTxCommit(t *testing.T) {
	db, _ := planets(t)
	tx, err := db.Begin()
	require.NoError(t, err)
	ins, err := tx.Exec("INSERT INTO planets (name, moons) VALUES (?, ?)", "Vulcan", 0)
	require.NoError(t, err)
	upd, err := tx.Exec("UPDATE planets SET moons = ? WHERE name = ?", 96, "Jupiter")
	require.NoError(t, err)
	_, err = ins.LastInsertId()
	require.ErrorIs(t, err, sqldriver.ErrNotCommitted)
	_, err = tx.Query("SELECT name FROM planets")
	require.ErrorIs(t, err, sqldriver.ErrUnsupported, "reads inside a transaction")
	assert.Equal(t, 5, countPlanets(t, db), "nothing applied before Commit")
	require.NoError(t, tx.Commit())
	id, err := ins.LastInsertId()
	require.NoError(t, err)
	assert.Equal(t, int64(5), id)
	n, err := upd.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, 6, countPlanets(t, db))
}

// A failing statement fails the Commit and undoes the others; Rollback
// sends nothing.
func TestTxAllOrNothing(t *testing.T) {
	db, _ := planets(t)
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("DELETE FROM planets WHERE moons < ?", 3)
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO planets (name, nope) VALUES (?, ?)", "X", 1)
	require.NoError(t, err)
	err = tx.Commit()
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "statement 2 of the transaction (INSERT planets)")
	assert.Equal(t, 5, countPlanets(t, db))

	tx, err = db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("DELETE FROM planets")
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	assert.Equal(t, 5, countPlanets(t, db))

	_, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	require.ErrorIs(t, err, sqldriver.ErrUnsupported)
	_, err = db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelSerializable})
	require.ErrorIs(t, err, sqldriver.ErrUnsupported)
}

// BulkInsert loads rows in shared memory through a pooled connection.
func TestBulkInsert(t *testing.T) {
	db, _ := planets(t)
	n, err := sqldriver.BulkInsert(context.Background(), db, "planets", []string{"name", "moons"}, func(b *content.Bulk) error {
		for i := range 1000 {
			if err := b.Append("minor", i); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), n)
	assert.Equal(t, 1005, countPlanets(t, db))
}

// A transaction too large for one message fails at Commit, applying
// nothing, and the connection goes on.
func TestTxTooLarge(t *testing.T) {
	db, _ := planets(t)
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range 20_000 {
		_, err := tx.Exec("INSERT INTO planets (name, moons) VALUES (?, ?)", "a rather long name for a minor planet", i)
		require.NoError(t, err)
	}
	err = tx.Commit()
	require.ErrorIs(t, err, content.ErrBadRequest)
	assert.Contains(t, err.Error(), "larger than the provider takes in one message")
	assert.Contains(t, err.Error(), "BulkInsert", "the error names the way out")
	assert.Equal(t, 5, countPlanets(t, db), "nothing applied; the connection serves on")
}
