package rpc

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A streaming call whose first stream the server refuses (REFUSED_STREAM,
// after reading the whole request) is sent again on a new stream, messages
// and end included, as long as what it sent fits the replay bound; past the
// bound it fails UNAVAILABLE instead.
func TestTransparentRetryOfStreams(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	var served atomic.Int32
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		if served.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, st)
			st.Reset(h2.ErrCodeRefusedStream)
			return
		}
		srv.serveStream(st)
	})}
	cc := clientOfH2Server(t, hs)
	concat := func(parts ...string) (string, error) {
		cs, err := cc.NewStream(ctxTimeout(t, 10*time.Second), &echoDesc.Streams[1], "/test.Echo/Concat")
		require.NoError(t, err)
		for _, p := range parts {
			require.NoError(t, cs.SendMsg(wrapperspb.String(p)))
		}
		require.NoError(t, cs.CloseSend())
		out := new(wrapperspb.StringValue)
		err = cs.RecvMsg(out)
		return out.GetValue(), err
	}

	got, err := concat("a", "b", "c")
	require.NoError(t, err)
	require.Equal(t, "abc", got)
	require.Equal(t, int32(2), served.Load(), "refused once, then served")

	served.Store(0)
	big := strings.Repeat("x", 64<<10)
	_, err = concat(big, big, big, big, big) // 320 KiB: more than a call keeps for a replay
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "REFUSED_STREAM")
	require.Equal(t, int32(1), served.Load(), "not retried")
}
