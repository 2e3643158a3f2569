package parcel

// What this package keeps to itself, exported to its own tests.

const (
	// Version is the frame format version.
	Version = version
	// MaxNesting is the deepest nesting of arrays and maps a body may have.
	MaxNesting = maxNesting
)

// New returns a fresh value for code, as Read makes one to decode into.
func (r *Registry) New(code uint16) (Message, error) {
	newFn, err := r.constructor(code)
	if err != nil {
		return nil, err
	}
	return newFn(), nil
}
