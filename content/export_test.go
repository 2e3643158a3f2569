package content

import "time"

// ReplyHandoffs returns how many replies the client's reader goroutine
// handed to the caller waiting for them, for TestSmallQueryCosts.
func (c *Client) ReplyHandoffs() int64 { return c.replyHandoffs.Load() }

// WithLeakStacks records the stack of every Query, as
// CURSORWINDOW_CURSOR_STACKS=1 does, for TestLeakedCursorNamesItsQuery.
func WithLeakStacks() DialOption { return func(c *dialConfig) { c.stacks = true } }

// PostsQueued returns how many messages the client posted to its writer
// goroutine rather than writing them at once, for
// TestReleaseWakesNoGoroutine.
func (c *Client) PostsQueued() int64 { return c.ctl.queued.Load() }

// ReleasesHeld returns how many messages the client held to go with its
// next request, for TestReleaseWakesNoGoroutine.
func (c *Client) ReleasesHeld() int64 { return c.ctl.held.Load() }

// WithLinger sets how long a held release waits for a request to carry
// it (10 ms by default), for tests that count what a query
// writes without the timer's writes among them.
func WithLinger(d time.Duration) DialOption { return func(c *dialConfig) { c.linger = d } }
