package wire

// Bounds both sides keep.
const (
	// MaxBatchOps bounds the operations of one batch.
	MaxBatchOps = 1 << 16
	// MaxBulkColumns bounds the columns of a bulk insert.
	MaxBulkColumns = 1 << 12
	// MaxNotes bounds the notifications pending on one connection (the
	// provider's) or one watch (the consumer's): past it a change is
	// announced by the URI the consumer registered, which covers every
	// URI below it.
	MaxNotes = 256
	// DefaultMaxRowWindow is the largest window a provider sends (a
	// one-off window for a row larger than the pooled ones) unless it
	// says otherwise in its hello reply.
	DefaultMaxRowWindow = 64 << 20
)
