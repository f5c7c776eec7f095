package h2

import "time"

// passClock is the writer's clock for one pass over the scheduled streams
// (fillDataLocked): the first stamp the pass needs reads the clock, the rest
// reuse it. A pass that ends 32 small responses stamps each one's first DATA
// byte and its close; reading the clock for each (about 150 ns on a VM's
// kvm-clock) was 7% of the server's CPU under h2load. The stamps of one pass
// are at most the pass's own duration early, as the read path's are the read
// batch's (lastActivity). Under mu, writer goroutine only.
type passClock struct {
	on  bool  // inside a pass
	now int64 // unix nanoseconds, 0 until the pass first needs it
}

func (c *passClock) begin() { c.on, c.now = true, 0 }
func (c *passClock) end()   { c.on, c.now = false, 0 }

// nowNano returns the pass's time inside a pass and the clock's outside one.
func (c *passClock) nowNano() int64 {
	if !c.on {
		return wallNano()
	}
	if c.now == 0 {
		c.now = wallNano()
	}
	return c.now
}

// wallNano reads the clock; tests count its calls through clockReads.
func wallNano() int64 {
	if clockReads != nil {
		*clockReads++
	}
	return time.Now().UnixNano()
}

// clockReads, when a test sets it, counts wallNano's clock reads.
var clockReads *int
