package rpc

import (
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestSendAfterTheCallEnded: a handler's stream refuses messages once its
// call has ended, on the streaming path and on a unary response's.
func TestSendAfterTheCallEnded(t *testing.T) {
	ss := &serverStream{ended: true}
	require.Equal(t, codes.Internal, status.Code(ss.SendMsg(wrapperspb.String("late"))))
	require.Equal(t, codes.Internal, status.Code(ss.sendLast(wrapperspb.String("late"))))
	require.Nil(t, ss.last, "nothing kept to send")
}

// A call whose number of requests does not fit its method (none, or two,
// for a unary call or a server stream) fails with UNIMPLEMENTED, as
// grpc-go and connect-go answer.
func TestServerRequestCardinality(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	two := append(encoded(t, "a"), encoded(t, "b")...)
	for _, c := range []struct {
		path string
		body []byte
	}{
		{"/test.Echo/Echo", []byte{}},
		{"/test.Echo/Echo", two},
		{"/test.Echo/Count", []byte{}},
		{"/test.Echo/Count", append(int32Envelope(t, 1), int32Envelope(t, 1)...)},
	} {
		resp, tr, _ := rawCall(t, e.addr, grpcReq(c.path), c.body)
		code := tr.Get("grpc-status")
		if code == "" {
			code = resp.Get("grpc-status")
		}
		require.Equal(t, "12", code, "%s with %d bytes", c.path, len(c.body))
	}
}
