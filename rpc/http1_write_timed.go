package rpc

import (
	"errors"
	"net"
	"os"
	"time"
)

// timedWriteMax is the most one write under the write timeout carries: a
// larger response goes in pieces, each timed on its own, so that a client
// that reads slowly but steadily gets all of it, while one that stops
// reading is cut off.
const timedWriteMax = 256 << 10

// writeTimed writes b, each write bounded by the write timeout.
func (c *http1ServerConn) writeTimed(b []byte) error {
	wt := c.srv.h1.writeTimeout
	if wt <= 0 {
		_, err := c.nc.Write(b)
		return err
	}
	for {
		p := b[:min(len(b), timedWriteMax)]
		b = b[len(p):]
		if err := c.writePiece(p, wt); err != nil || len(b) == 0 {
			return err
		}
	}
}

// writePiece writes p under the write timeout. A piece's write can outlast
// the timeout although the client reads steadily: the kernel wakes a writer
// blocked on a full socket only once a third of the send buffer is free,
// and that buffer grows to several MiB (tcp_wmem), so the wait is for a MiB
// or more to be read rather than for the piece. Over a plain socket on
// Linux the timed writer (http1_timed_linux.go) so lets the write go on
// while the client keeps taking bytes at no less than MinWriteRate
// (http1_write_rate.go); elsewhere the timeout ends the write.
func (c *http1ServerConn) writePiece(p []byte, wt time.Duration) error {
	if !c.twTried {
		c.twTried = true
		c.tw = newTimedWriter(c.nc)
	}
	if c.tw != nil {
		return c.tw.writePiece(p, wt, c.srv.h1.minWriteRate)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
	_, err := c.nc.Write(p)
	return err
}

// writeTimed2 writes head then body, in one writev when they fit in one
// timed write. A writev that outlasts the timeout on a socket the timed
// writer can judge goes on as a larger response's piece would, its rest
// under writeStall's rule from then: else a client reading steadily above
// MinWriteRate would be cut off from a response under 256 KiB although it
// gets a larger one.
func (c *http1ServerConn) writeTimed2(head, body []byte) error {
	wt := c.srv.h1.writeTimeout
	if wt > 0 && len(head)+len(body) > timedWriteMax {
		if err := c.writeTimed(head); err != nil {
			return err
		}
		return c.writeTimed(body)
	}
	if wt > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
	}
	bufs := net.Buffers{head, body}
	_, err := bufs.WriteTo(c.nc) // leaves in bufs what it did not write
	if err == nil || wt <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if !c.twTried {
		c.twTried = true
		c.tw = newTimedWriter(c.nc)
	}
	if c.tw == nil {
		return err // no count of what the client took: the timeout ends it
	}
	for _, rest := range bufs {
		if len(rest) == 0 {
			continue
		}
		if err := c.tw.writePiece(rest, wt, c.srv.h1.minWriteRate); err != nil {
			return err
		}
	}
	return nil
}
