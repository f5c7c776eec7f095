package main

import (
	"context"
	"io"
	"testing"
	"unsafe"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/stretchr/testify/require"
)

// TestStreamOutBuildsFreshMessages: the matrix's form (size, count) sends
// exactly count messages, each with its own payload, as a user's handler
// builds them; the one-parameter legacy form reuses one response until the
// client cancels.
func TestStreamOutBuildsFreshMessages(t *testing.T) {
	var sent []*testpb.StreamingOutputCallResponse
	collect := func(m *testpb.StreamingOutputCallResponse) error { sent = append(sent, m); return nil }
	req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 3}, {Size: 4}}}
	require.NoError(t, streamOut(context.Background(), req, collect))
	require.Len(t, sent, 4)
	seen := map[*byte]bool{}
	for _, m := range sent {
		b := m.GetPayload().GetBody()
		require.Len(t, b, 3)
		require.False(t, seen[unsafe.SliceData(b)], "payload shared between messages")
		seen[unsafe.SliceData(b)] = true
	}

	ctx, cancel := context.WithCancel(context.Background())
	sent = nil
	legacy := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 3}}}
	require.NoError(t, streamOut(ctx, legacy, func(m *testpb.StreamingOutputCallResponse) error {
		sent = append(sent, m)
		if len(sent) == 5 {
			cancel()
		}
		return nil
	}))
	require.Len(t, sent, 5)
	require.Same(t, sent[0], sent[4], "the legacy stream reuses its response")

	require.Error(t, streamOut(context.Background(), &testpb.StreamingOutputCallRequest{}, collect))
}

func TestStreamInCountsPayloadBytes(t *testing.T) {
	msgs := []*testpb.StreamingInputCallRequest{
		{Payload: &testpb.Payload{Body: make([]byte, 5)}},
		{Payload: &testpb.Payload{Body: make([]byte, 7)}},
	}
	resp, err := streamIn(func() (*testpb.StreamingInputCallRequest, error) {
		if len(msgs) == 0 {
			return nil, io.EOF
		}
		m := msgs[0]
		msgs = msgs[1:]
		return m, nil
	})
	require.NoError(t, err)
	require.Equal(t, int32(12), resp.GetAggregatedPayloadSize())
}

func TestServiceRejectsOversizedPayloads(t *testing.T) {
	_, err := freshBody(maxPayload + 1)
	require.Error(t, err)
	_, err = freshBody(-1)
	require.Error(t, err)
	b, err := freshBody(3)
	require.NoError(t, err)
	require.Len(t, b, 3)
}
