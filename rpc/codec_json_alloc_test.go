package rpc_test

import (
	"testing"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
)

// Encoding a generated message shaped like the web benchmarks' (an enum,
// an int, a nested message with bytes) into a buffer with room costs the
// JSON codec no allocation; protojson cost 14. The output is protojson's.
func TestJSONCodecMarshalAllocations(t *testing.T) {
	msg := &testpb.SimpleRequest{ResponseType: testpb.PayloadType_COMPRESSABLE, ResponseSize: 100,
		Payload: &testpb.Payload{Body: make([]byte, 100)}, FillUsername: true}
	buf := make([]byte, 0, 1024)
	got, err := rpc.JSONCodec.Marshal(buf, msg)
	require.NoError(t, err)
	want, err := protojson.Marshal(msg)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := rpc.JSONCodec.Marshal(buf, msg); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
