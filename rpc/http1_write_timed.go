package rpc

import (
	"net"
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
// timed write.
func (c *http1ServerConn) writeTimed2(head, body []byte) error {
	if c.srv.h1.writeTimeout > 0 && len(head)+len(body) > timedWriteMax {
		if err := c.writeTimed(head); err != nil {
			return err
		}
		return c.writeTimed(body)
	}
	if wt := c.srv.h1.writeTimeout; wt > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
	}
	bufs := net.Buffers{head, body}
	_, err := bufs.WriteTo(c.nc)
	return err
}
