package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// The floor: a bare TCP ping-pong of the same bytes over loopback, in the
// same run, so that the table shows how far each stack is from what the
// kernel alone costs.

// tcpEcho is a loopback listener whose one connection echoes every size
// bytes it reads.
type tcpEcho struct {
	l    net.Listener
	conn net.Conn
	wg   sync.WaitGroup
}

func startTCPEcho(size int) (*tcpEcho, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &tcpEcho{l: l}
	e.wg.Go(func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		_ = l.Close()
		e.wg.Wait()
		return nil, err
	}
	e.conn = conn
	return e, nil
}

func (e *tcpEcho) Close() {
	_ = e.conn.Close()
	_ = e.l.Close()
	e.wg.Wait()
}

// tcpPingPong measures round trips of size bytes each way, one at a time.
func tcpPingPong(size int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		echo, err := startTCPEcho(size)
		if err != nil {
			return nil, err
		}
		defer echo.Close()
		out, in := make([]byte, size), make([]byte, size)
		return latencyWindow(ctx, e.tm, func(context.Context) error {
			if _, err := echo.conn.Write(out); err != nil {
				return err
			}
			_, err := io.ReadFull(echo.conn, in)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		})
	}
}
