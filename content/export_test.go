package content

// ReplyHandoffs returns how many replies the client's reader goroutine
// handed to the caller waiting for them, for TestSmallQueryCosts.
func (c *Client) ReplyHandoffs() int64 { return c.replyHandoffs.Load() }

// WithLeakStacks is withLeakStacks, for TestLeakedCursorNamesItsQuery.
var WithLeakStacks = withLeakStacks
