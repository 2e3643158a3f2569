package memtable

import "errors"

// ErrTxDone is returned by a transaction's methods once it has committed
// or rolled back.
var ErrTxDone = errors.New("memtable: transaction has ended")
