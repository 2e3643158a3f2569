package provider

// WatchdogCounts returns how often the server's connections armed their
// reader's watchdog, how often it fired, and how often a new goroutine took
// over reading, for TestSmallQueryCosts.
func (s *Server) WatchdogCounts() (arms, fires, readers int64) {
	return s.wakes.watchdogArms.Load(), s.wakes.watchdogFires.Load(), s.wakes.readerHandoffs.Load()
}

// ReadDeadlines returns how often the server's connections moved their
// read deadline (the idle timeout's), for TestSmallQueryWakes.
func (s *Server) ReadDeadlines() int64 { return s.wakes.readDeadlines.Load() }

// withMaxRowWindow sets the largest one-off window the provider makes for
// a row that does not fit a whole window (default 64 MiB), for the tests
// of oversized rows.
func withMaxRowWindow(n int64) ServerOption { return func(c *serverConfig) { c.maxRowWindow = n } }

// FillWaiters returns how many fills of windows to be cached have a
// query waiting for them, for TestOneFillPerWindow.
func (s *Server) FillWaiters() int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	n := 0
	for _, ch := range s.cache.filling {
		if ch != nil {
			n++
		}
	}
	return n
}

// MaxSmallResults is how many small results the server keeps at most.
const MaxSmallResults = maxSmallResults
