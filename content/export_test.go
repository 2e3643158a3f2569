package content

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
