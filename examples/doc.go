// Package examples holds the example programs of cursorwindow and their
// end-to-end tests, which build the real binaries and run them against
// each other:
//
//   - provider (examples/provider): serves the tables of a SQLite database,
//     by default a generated sample of taxi trips, through provider.Server;
//   - consumer (examples/consumer): a command-line consumer that lists,
//     queries, scans, watches and writes those tables.
//
// `make demo` builds and runs both; the README shows the output to expect.
package examples
