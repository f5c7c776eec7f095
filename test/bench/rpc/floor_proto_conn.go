package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/protobuf/proto"
)

// One end of a proto floor's connection: gRPC's message framing over a
// plain net.Conn, with the buffers any stack's connection keeps.

// prefixLen is gRPC's message prefix: a compressed flag and a big-endian
// 32-bit length.
const prefixLen = 5

// maxFrame bounds a message read, so that a corrupt prefix fails the case
// instead of allocating gigabytes.
const maxFrame = maxPayload + 1024

var errFrameTooLarge = errors.New("message larger than the largest payload")

// readBufSize is a floor connection's read buffer: each read takes what
// the kernel has, up to that, so that a read can bring several 64 KiB
// messages at once, as a stack's connection reader does.
const readBufSize = 256 * kib

// protoConn is one end of a floor connection.
type protoConn struct {
	c    net.Conn
	wbuf []byte // reused: messages are marshalled into it until flush writes them
	rbuf []byte // reused: read into, messages are unmarshalled from it
	r, w int    // rbuf[r:w] has been read and not consumed yet
}

func newProtoConn(c net.Conn) *protoConn {
	return &protoConn{c: c, rbuf: make([]byte, readBufSize)}
}

// send marshals m behind the length prefix and writes it in one write.
func (p *protoConn) send(m proto.Message) error {
	if err := p.queue(m); err != nil {
		return err
	}
	return p.flush()
}

// queue marshals m behind the length prefix at the end of the write
// buffer, for flush to write with the messages queued before it.
func (p *protoConn) queue(m proto.Message) error {
	at := len(p.wbuf)
	b, err := proto.MarshalOptions{}.MarshalAppend(append(p.wbuf, make([]byte, prefixLen)...), m)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	p.wbuf = b
	binary.BigEndian.PutUint32(b[at+1:at+prefixLen], uint32(len(b)-at-prefixLen))
	return nil
}

// flush writes the queued messages in one write.
func (p *protoConn) flush() error {
	_, err := p.c.Write(p.wbuf)
	p.wbuf = p.wbuf[:0]
	return err
}

// recv reads one prefixed message and unmarshals it into m.
func (p *protoConn) recv(m proto.Message) error {
	if err := p.fill(prefixLen); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(p.rbuf[p.r+1 : p.r+prefixLen])
	if n > maxFrame {
		return fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	if err := p.fill(prefixLen + int(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	b := p.rbuf[p.r+prefixLen : p.r+prefixLen+int(n)]
	p.r += prefixLen + int(n)
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	return nil
}

// fill reads until rbuf[r:w] holds at least n bytes. A message that does
// not fit behind r moves to the front of the buffer (growing it for a
// message larger than the buffer), as any buffered reader's does.
func (p *protoConn) fill(n int) error {
	if p.r == p.w {
		p.r, p.w = 0, 0
	}
	if p.r+n > len(p.rbuf) {
		if n > len(p.rbuf) {
			p.rbuf = append(make([]byte, 0, n), p.rbuf[p.r:p.w]...)[:n]
		} else {
			copy(p.rbuf, p.rbuf[p.r:p.w])
		}
		p.r, p.w = 0, p.w-p.r
	}
	for p.w-p.r < n {
		k, err := p.c.Read(p.rbuf[p.w:])
		p.w += k
		if err != nil && p.w-p.r < n {
			return err
		}
	}
	return nil
}
