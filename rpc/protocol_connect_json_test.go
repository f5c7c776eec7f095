package rpc

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/anypb"
)

// jsonTestStrings are strings every escaping rule applies to.
var jsonTestStrings = []string{
	"", "plain", `quote " and backslash \`, "controls \x00\x01\b\f\n\r\t\x1f\x7f", "html <a href='x'>&amp;</a>",
	"utf-8 é ü 日本 🙂", "separators \u2028 and \u2029", "invalid \xff\xfe utf-8 \xe2\x82", "/slash/",
}

// The JSON written by hand is byte for byte json.Marshal's, for error
// bodies with and without message and details, and for end-of-stream
// messages with and without error and metadata.
func TestConnectJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonTestStrings {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)), "string %q", s)
	}
	var statuses []*status.Status
	for _, msg := range jsonTestStrings {
		statuses = append(statuses, status.New(codes.NotFound, msg))
	}
	withDetails := &status.Proto{Code: int32(codes.InvalidArgument), Message: "bad <input>", Details: []*anypb.Any{
		{TypeUrl: "type.googleapis.com/google.rpc.BadRequest", Value: []byte{1, 2, 3, 250}},
		{TypeUrl: "example.com/x.Y", Value: nil},
	}}
	statuses = append(statuses, status.FromProto(withDetails), status.New(codes.OK, ""), status.New(codes.Code(99), "unknown code"))
	trailers := []metadata.MD{nil, {}, metadata.Pairs("b", "2", "a", "1", "a", "<1>", "bin-bin", "\x00\xff", "te", "dropped")}
	for _, st := range statuses {
		if st.Code() != codes.OK {
			want, err := json.Marshal(newConnectError(st))
			require.NoError(t, err)
			require.Equal(t, string(want), string(appendConnectErrorJSON(nil, newConnectError(st))), "error %v", st)
		}
		for _, md := range trailers {
			end := connectEndStream{Metadata: connectMetadataJSON(md)}
			if st.Code() != codes.OK {
				end.Error = newConnectError(st)
			}
			want, err := json.Marshal(&end)
			require.NoError(t, err)
			got := appendConnectEndStream([]byte("x"), st, md)
			require.Equal(t, byte(connectEndStreamFlag), got[1])
			require.Equal(t, uint32(len(want)), binary.BigEndian.Uint32(got[2:6]))
			require.Equal(t, string(want), string(got[6:]), "end of stream %v %v", st, md)
		}
	}
}
