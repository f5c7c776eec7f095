package rpc

import (
	"io"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// intoRecorder is a body that records the memory each read landed in.
type intoRecorder struct {
	r    io.Reader
	into [][]byte
}

func (r *intoRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.into = append(r.into, p[:n])
	}
	return n, err
}

// TestConnectUnaryBodyIsTheMessage: a Connect unary body (a request on the
// server, a response on the client) is read once, into the buffer the
// envelope reader then hands out as the message, with no second copy into
// a buffer of the reader's own; the body then ends. The server's path
// (next, then expectEnd) and the client's (read, which keeps the prefix)
// both.
func TestConnectUnaryBodyIsTheMessage(t *testing.T) {
	body := `{"value":"` + strings.Repeat("x", 300) + `"}`
	for _, compressed := range []bool{false, true} {
		src := &intoRecorder{r: strings.NewReader(body)}
		u := unaryBody{src: src, max: 1 << 20, compressed: compressed}
		er := envelopeReader{r: &u, maxSize: 1 << 20}
		bp, flag, err := er.read()
		require.NoError(t, err)
		require.Equal(t, compressed, flag == 1)
		payload := (*bp)[envelopeHeaderLen:]
		require.Equal(t, body, string(payload))
		require.Len(t, src.into, 1)
		require.Same(t, &src.into[0][0], &payload[0], "the message is where the body was read")
		recvBufs.put(bp)
		_, _, err = er.read()
		require.Equal(t, io.EOF, err)
	}

	src := &intoRecorder{r: strings.NewReader(body)}
	u := unaryBody{src: src, max: 1 << 20}
	er := envelopeReader{r: &u, maxSize: 1 << 20}
	payload, mb, err := er.next()
	require.NoError(t, err)
	require.Equal(t, body, string(payload))
	require.Same(t, &src.into[0][0], &payload[0], "the message is where the body was read")
	mb.release()
	require.Equal(t, io.EOF, er.expectEnd())
}

// TestConnectUnaryBodyLimitsAndQuery: a body over the size limit is
// RESOURCE_EXHAUSTED before it is handed over, and a GET's message (from the
// query, in no buffer of ours) is still served, then the end.
func TestConnectUnaryBodyLimitsAndQuery(t *testing.T) {
	u := unaryBody{src: strings.NewReader(strings.Repeat("x", 100)), max: 99}
	er := envelopeReader{r: &u, maxSize: 99}
	_, _, err := er.next()
	require.Equal(t, codes.ResourceExhausted, status.Code(err))

	u = unaryBody{msg: []byte(`"hi"`), loaded: true}
	er = envelopeReader{r: &u, maxSize: 1 << 20}
	payload, mb, err := er.next()
	require.NoError(t, err)
	require.Equal(t, `"hi"`, string(payload))
	mb.release()
	require.Equal(t, io.EOF, er.expectEnd())
}
