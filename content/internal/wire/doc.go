// Package wire is the content protocol in code, for the two packages that
// speak it: content (consumers) and content/provider (services). It holds
// docs/PROTOCOL.md's messages with their type codes and msgpack keys, the
// error codes with the sentinels they stand for, and the value kinds a
// window stores. TestProtocolDocMatchesMessages holds PROTOCOL.md's field
// tables against these messages, so the document cannot drift.
//
// Nothing here is API: users import content or content/provider; content
// re-exports the sentinels (content.ErrNotFound is wire.ErrNotFound).
package wire
