// Package rawh2 writes the few HTTP/2 frames the chaos suite's misbehaving
// clients need: a handshake after which the client never reads again (idle
// and never-reading connections), and one gRPC request. It is deliberately
// not an HTTP/2 client: it must not read, ack or update windows later.
package rawh2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/net/http2/hpack"
)

const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types and flags used here (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameSettings     = 0x4
	frameWindowUpdate = 0x8

	flagAck        = 0x1
	flagEndStream  = 0x1
	flagEndHeaders = 0x4

	settingInitialWindowSize = 0x4
)

// ErrNoSettings is returned when the peer ends the handshake without
// sending its SETTINGS.
var ErrNoSettings = errors.New("rawh2: peer sent no SETTINGS")

func frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream)
	return append(b, payload...)
}

// Handshake writes the client preface with SETTINGS_INITIAL_WINDOW_SIZE =
// window (and opens the connection window as far), reads until the peer's
// SETTINGS and acks them. It reads nothing after that.
func Handshake(c net.Conn, window uint32, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	defer c.SetDeadline(time.Time{})
	var out bytes.Buffer
	out.WriteString(preface)
	var s [6]byte
	binary.BigEndian.PutUint16(s[:], settingInitialWindowSize)
	binary.BigEndian.PutUint32(s[2:], window)
	out.Write(frame(frameSettings, 0, 0, s[:]))
	if window > 65535 {
		var wu [4]byte
		binary.BigEndian.PutUint32(wu[:], window-65535)
		out.Write(frame(frameWindowUpdate, 0, 0, wu[:]))
	}
	if _, err := c.Write(out.Bytes()); err != nil {
		return fmt.Errorf("rawh2: writing the preface: %w", err)
	}
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return ErrNoSettings
			}
			return fmt.Errorf("rawh2: reading the server's preface: %w", err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			return fmt.Errorf("rawh2: reading the server's preface: %w", err)
		}
		if hdr[3] == frameSettings && hdr[4]&flagAck == 0 {
			break
		}
	}
	if _, err := c.Write(frame(frameSettings, flagAck, 0, nil)); err != nil {
		return fmt.Errorf("rawh2: acking SETTINGS: %w", err)
	}
	return nil
}

// WriteCall writes a whole gRPC call on stream id: HEADERS for path on
// authority, then msg as one length-prefixed message with END_STREAM.
func WriteCall(c net.Conn, id uint32, authority, path string, msg []byte) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	} {
		if err := enc.WriteField(f); err != nil {
			return err
		}
	}
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	body = append(body, msg...)
	var out bytes.Buffer
	out.Write(frame(frameHeaders, flagEndHeaders, id, block.Bytes()))
	out.Write(frame(frameData, flagEndStream, id, body))
	if _, err := c.Write(out.Bytes()); err != nil {
		return fmt.Errorf("rawh2: writing the call: %w", err)
	}
	return nil
}
