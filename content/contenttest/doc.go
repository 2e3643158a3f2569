// Package contenttest is for tests of providers and consumers, as
// net/http/httptest is for HTTP: Serve serves a provider on a socket in a
// temporary directory until the test ends, Dial connects a client that is
// closed with the test, and MemProvider and Watched are small providers to
// serve.
package contenttest
