package rpc

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// A gRPC header block with grpc-status is the call's status only when it
// ends the stream (trailers-only); otherwise the trailers decide, and a
// stream that ends with a message but no trailers fails.
func TestTrailersOnlyNeedsEndStream(t *testing.T) {
	checkNoLeaks(t)
	var mode atomic.Int32
	hdr := h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-status", Value: "8"}}
	hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		_, _ = st.Read(make([]byte, 64))
		switch mode.Load() {
		case 0: // a real trailers-only response
			_ = st.Respond(hdr, &h2.RespondOptions{EndStream: true})
		case 1: // trailers follow: they win
			_ = st.Respond(hdr, &h2.RespondOptions{Trailers: h2.Header{{Name: "grpc-status", Value: "9"}}})
		case 2: // a message follows, then the end without trailers
			_ = st.Respond(hdr, &h2.RespondOptions{Body: []byte{0, 0, 0, 0, 0}})
		}
	})}
	e := &env{cc: clientOfH2Server(t, hs)}
	for m, want := range []codes.Code{codes.ResourceExhausted, codes.FailedPrecondition, codes.Internal} {
		mode.Store(int32(m))
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.Equal(t, want, status.Code(err), "mode %d: %v", m, err)
	}
}
