package main

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// TestProtoConnFramesMessages: queued messages go over in one write, each
// behind gRPC's prefix (flag 0, big-endian length), and come back whole,
// into fresh payloads that do not alias the reused read buffer.
func TestProtoConnFramesMessages(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	from, to := newProtoConn(a), newProtoConn(b)
	bodies := [][]byte{[]byte("a payload of some bytes"), make([]byte, 300)}
	var sizes []int
	for _, body := range bodies {
		m := &testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: body}}
		require.NoError(t, from.queue(m))
		sizes = append(sizes, proto.Size(m))
	}
	require.Len(t, from.wbuf, 2*prefixLen+sizes[0]+sizes[1])
	second := from.wbuf[prefixLen+sizes[0]:]
	for i, prefix := range [][]byte{from.wbuf[:prefixLen], second[:prefixLen]} {
		require.Equal(t, byte(0), prefix[0], "not compressed")
		require.Equal(t, uint32(sizes[i]), binary.BigEndian.Uint32(prefix[1:]))
	}

	sent := make(chan error, 1)
	go func() { sent <- from.flush() }()
	var got []*testpb.StreamingInputCallRequest
	for range bodies {
		m := &testpb.StreamingInputCallRequest{}
		require.NoError(t, to.recv(m))
		got = append(got, m)
	}
	require.NoError(t, <-sent)
	require.Empty(t, from.wbuf, "flushed")
	clear(to.rbuf)
	for i, body := range bodies {
		require.Equal(t, body, got[i].GetPayload().GetBody(), "the payload is a copy")
	}
}

func TestProtoConnRejectsOversizedMessages(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		prefix := [prefixLen]byte{}
		binary.BigEndian.PutUint32(prefix[1:], maxFrame+1)
		_, _ = a.Write(prefix[:])
	}()
	err := newProtoConn(b).recv(&testpb.StreamingInputCallRequest{})
	require.ErrorIs(t, err, errFrameTooLarge)
}

// TestProtoFloorReportsTheServersFailure: a floor whose server fails says
// why, not only that its connection ended.
func TestProtoFloorReportsTheServersFailure(t *testing.T) {
	errBad := errors.New("bad message")
	serve := func(c *protoConn) error {
		if err := c.recv(&testpb.SimpleRequest{}); err != nil {
			return err
		}
		return errBad
	}
	e := &env{tm: timing{0, 50 * time.Millisecond}}
	_, err := runProtoFloor(context.Background(), e, 2, serve, func(c *protoConn) error {
		if err := c.send(unaryReq(10)); err != nil {
			return err
		}
		return c.recv(&testpb.SimpleResponse{})
	})
	require.ErrorIs(t, err, errBad)
}
