// Package gateway serves a cursorwindow provider's tables over Arrow
// Flight SQL.
package gateway
