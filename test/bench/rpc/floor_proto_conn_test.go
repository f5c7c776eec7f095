package main

import (
	"encoding/binary"
	"net"
	"testing"

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

// TestProtoConnReadsAcrossItsBuffer: messages that straddle the end of the
// read buffer move to its front, and one larger than the buffer grows it;
// each arrives whole.
func TestProtoConnReadsAcrossItsBuffer(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	from, to := newProtoConn(a), newProtoConn(b)
	sizes := []int{100 * kib, 100 * kib, 100 * kib, mib, 100 * kib}
	for i, n := range sizes {
		body := make([]byte, n)
		for j := range body {
			body[j] = byte(i + j)
		}
		require.NoError(t, from.queue(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: body}}))
	}
	sent := make(chan error, 1)
	go func() { sent <- from.flush() }()
	for i, n := range sizes {
		m := &testpb.StreamingInputCallRequest{}
		require.NoError(t, to.recv(m))
		body := m.GetPayload().GetBody()
		require.Len(t, body, n)
		require.Equal(t, byte(i), body[0])
		require.Equal(t, byte(i+n-1), body[n-1])
	}
	require.NoError(t, <-sent)
	require.Greater(t, len(to.rbuf), mib, "grown for the 1 MiB message")
}
