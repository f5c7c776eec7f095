package rpc_test

import (
	"testing"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
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

// Decoding that message costs the JSON codec what protobuf's reflection
// costs to set what it holds (the nested message, its bytes, the bytes'
// conversion) and no more: 5 allocations, where protojson cost 15.
func TestJSONCodecUnmarshalAllocations(t *testing.T) {
	in := []byte(`{"responseType":"COMPRESSABLE","responseSize":100,"payload":{"body":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"fillUsername":true}`)
	want := &testpb.SimpleRequest{}
	require.NoError(t, protojson.Unmarshal(in, want))
	msg := &testpb.SimpleRequest{}
	require.NoError(t, rpc.JSONCodec.Unmarshal(in, msg))
	require.True(t, proto.Equal(want, msg))
	allocs := testing.AllocsPerRun(100, func() {
		if err := rpc.JSONCodec.Unmarshal(in, msg); err != nil {
			t.Fatal(err)
		}
	})
	theirs := testing.AllocsPerRun(100, func() {
		if err := protojson.Unmarshal(in, msg); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations, protojson %.0f", allocs, theirs)
	require.LessOrEqual(t, allocs, 5.0)
}
