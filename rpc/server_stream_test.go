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
