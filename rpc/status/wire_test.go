package status

import (
	"math"
	"strings"
	"testing"

	rpcstatus "github.com/h2rpc/h2rpc/proto/google/rpc"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The hand encoding must agree byte for byte with a generated
// google.rpc.Status (the test links one; the package itself does not).
func TestProtoWireMatchesGenerated(t *testing.T) {
	a1, err := anypb.New(wrapperspb.String("field x"))
	require.NoError(t, err)
	a2, err := anypb.New(durationpb.New(3))
	require.NoError(t, err)
	cases := []*Proto{
		{},
		{Code: 5},
		{Code: -1, Message: "negative codes sign-extend"},
		{Code: math.MaxInt32, Message: "ünïcödé ✓"},
		{Code: 3, Message: "with details", Details: []*anypb.Any{a1, a2}},
		{Details: []*anypb.Any{{}}},
	}
	for _, c := range cases {
		got, err := c.Marshal()
		require.NoError(t, err)
		ref := &rpcstatus.Status{Code: c.Code, Message: c.Message, Details: c.Details}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(ref)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%v", c)

		var back Proto
		require.NoError(t, back.Unmarshal(want))
		require.True(t, back.equal(c), "%v != %v", &back, c)
	}
}

func TestProtoUnmarshalSkipsUnknownAndReplaces(t *testing.T) {
	ref := &rpcstatus.Status{Code: 7, Message: "m"}
	b, err := proto.Marshal(ref)
	require.NoError(t, err)
	b = protowire.AppendTag(b, 99, protowire.BytesType) // a future field
	b = protowire.AppendString(b, "ignored")
	b = protowire.AppendTag(b, fieldCode, protowire.Fixed32Type) // known number, wrong type: unknown
	b = protowire.AppendFixed32(b, 1)
	p := Proto{Message: "stale", Details: []*anypb.Any{{}}}
	require.NoError(t, p.Unmarshal(b))
	require.Equal(t, int32(7), p.Code)
	require.Equal(t, "m", p.Message)
	require.Empty(t, p.Details, "Unmarshal replaces what p held")
}

func TestProtoUnmarshalRejectsMalformed(t *testing.T) {
	bad := map[string][]byte{
		"truncated tag":     {0x80},
		"truncated varint":  {0x08, 0xff},
		"message too long":  {0x12, 0x05, 'a'},
		"invalid utf-8":     {0x12, 0x01, 0xff},
		"detail not an Any": {0x1a, 0x02, 0x0a, 0x05},
		"group never ended": {0x2b},
	}
	for name, b := range bad {
		var p Proto
		require.Error(t, p.Unmarshal(b), name)
	}
	_, err := (&Proto{Message: "\xff"}).Marshal()
	require.Error(t, err)
}

func TestProtoNilAndString(t *testing.T) {
	var p *Proto
	require.Equal(t, int32(0), p.GetCode())
	require.Equal(t, "", p.GetMessage())
	require.Nil(t, p.GetDetails())
	b, err := p.Marshal()
	require.NoError(t, err)
	require.Empty(t, b)
	require.Equal(t, "<nil>", p.String())
	s, err := New(3, "bad").WithDetails(wrapperspb.String("why"))
	require.NoError(t, err)
	str := s.Proto().String()
	require.True(t, strings.HasPrefix(str, `code:3 message:"bad" details:{`), str)
	require.Contains(t, str, "google.protobuf.StringValue")
}

// FuzzProtoUnmarshal: any input either decodes to something that encodes
// back and decodes the same, or is an error; never a panic.
func FuzzProtoUnmarshal(f *testing.F) {
	b, _ := proto.Marshal(&rpcstatus.Status{Code: 2, Message: "x", Details: []*anypb.Any{{TypeUrl: "t", Value: []byte{1}}}})
	f.Add(b)
	f.Add([]byte{0x08, 0x80, 0x80, 0x80, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, in []byte) {
		var p Proto
		if p.Unmarshal(in) != nil {
			return
		}
		out, err := p.Marshal()
		require.NoError(t, err)
		var q Proto
		require.NoError(t, q.Unmarshal(out))
		require.True(t, p.equal(&q))
	})
}
