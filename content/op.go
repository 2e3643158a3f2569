package content

import (
	"fmt"
)

// Op is an operation a consumer asks of a provider, as a provider.Permission sees
// it.
type Op uint8

// Operations.
const (
	OpQuery    Op = iota + 1 // read a URI (query, and the windows of its result)
	OpInsert                 // insert into a URI
	OpUpdate                 // update rows of a URI
	OpDelete                 // delete rows of a URI
	OpCall                   // call a method; the URI is the method's name
	OpRegister               // be told of changes to a URI (and, when asked, those below it)
)

var opNames = [...]string{OpQuery: "query", OpInsert: "insert", OpUpdate: "update", OpDelete: "delete", OpCall: "call", OpRegister: "register"}

// String returns the operation's name (query, insert, ...).
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}
