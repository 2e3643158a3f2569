package content

// Counts of the events that wake a thread in a small request's round
// trip, for TestSmallQueryCosts.

// WatchdogCounts returns how often the server's connections armed their
// inline watchdog, how often it fired, and how often a new goroutine took
// over reading.
func (s *Server) WatchdogCounts() (arms, fires, readers int64) {
	return s.wakes.watchdogArms.Load(), s.wakes.watchdogFires.Load(), s.wakes.readerHandoffs.Load()
}

// ReplyHandoffs returns how many replies the client's reader goroutine
// handed to the caller waiting for them.
func (c *Client) ReplyHandoffs() int64 { return c.wakes.replyHandoffs.Load() }
