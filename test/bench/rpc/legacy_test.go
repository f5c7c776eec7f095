package main

import (
	"context"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/stretchr/testify/require"
)

// slowClient's bidi streams take slowRoundTrip to answer each message: a
// stack on a machine too loaded to finish a round trip within the smoke
// matrix's 50 ms window.
type slowClient struct{ client }

const slowRoundTrip = 30 * time.Millisecond

func (slowClient) Duplex(context.Context) (bidi, error) { return &slowBidi{}, nil }

type slowBidi struct{ size int32 }

func (b *slowBidi) Send(m *testpb.StreamingOutputCallRequest) error {
	b.size = m.GetResponseParameters()[0].GetSize()
	return nil
}

func (b *slowBidi) Recv() (*testpb.StreamingOutputCallResponse, error) {
	time.Sleep(slowRoundTrip)
	return &testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, b.size)}}, nil
}

func (*slowBidi) CloseSend() error { return nil }

// The idle-busy case waits for its first busy round trip, as every other
// window does, when none finishes within the planned window (CI's smoke run
// once failed with "no busy round trip completed" for connect-go).
func TestLegacyIdleBusyWaitsForARoundTrip(t *testing.T) {
	e := &env{t: &target{client: slowClient{}}, tm: timing{0, time.Millisecond}, smoke: true}
	m, err := legacyIdleBusy(context.Background(), e)
	require.NoError(t, err)
	require.GreaterOrEqual(t, m[kP99], float64(slowRoundTrip))
}
