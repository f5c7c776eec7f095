package rpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Serve's own HTTP/1.1 cuts off a client that stops sending its request
// body (HTTP1Parameters.BodyReadTimeout), and only such a client: a body
// that keeps coming slowly is read to its end.

// connectJSONEnvelope is msg in a Connect streaming envelope, as one chunk
// of a chunked body.
func connectJSONEnvelope(msg string) string {
	env := fmt.Sprintf("\x00%s%s", beUint32(len(msg)), msg)
	return fmt.Sprintf("%x\r\n%s\r\n", len(env), env)
}

func beUint32(n int) string {
	return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func TestServeHTTP1StalledBodyIsCutOff(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, HTTP1Params(HTTP1Parameters{BodyReadTimeout: 200 * time.Millisecond}))

	// A unary request whose body stops after 3 of its 10 bytes.
	r := e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n\"hi")
	resp, body := r.response()
	require.NotEqual(t, 200, resp.StatusCode, body)
	require.Contains(t, body, `"code":"deadline_exceeded"`)
	require.Contains(t, body, "BodyReadTimeout")
	require.True(t, resp.Close, "the connection cannot carry another request")
	r.closed()

	// A client stream that stops after its first message: the handler's
	// Recv fails, and the call ends with its error.
	r = e.dial(t)
	r.send("POST /test.Echo/Concat HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n" + connectJSONEnvelope(`"a"`))
	resp, body = r.response()
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, `"code":"deadline_exceeded"`)
	r.closed()

	// The server is free for the next client.
	resp, b := e.post(t, "/test.Echo/Echo", "application/json", []byte(`"next"`))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"next"`, string(b))
}

func TestServeHTTP1SlowSteadyBodyIsRead(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, HTTP1Params(HTTP1Parameters{BodyReadTimeout: 500 * time.Millisecond}))

	// A unary body one byte every 50 ms: longer in all than the timeout,
	// never silent for as long.
	msg := `"` + strings.Repeat("s", 14) + `"`
	r := e.dial(t)
	r.send(fmt.Sprintf("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(msg)))
	for i := range len(msg) {
		time.Sleep(50 * time.Millisecond)
		r.send(msg[i : i+1])
	}
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode, body)
	require.Equal(t, msg, body)
	require.False(t, resp.Close, "the connection is kept")

	// A client stream of 12 messages, one every 50 ms, on the same
	// connection.
	r.send("POST /test.Echo/Concat HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n")
	for range 12 {
		time.Sleep(50 * time.Millisecond)
		r.send(connectJSONEnvelope(`"a"`))
	}
	r.send("0\r\n\r\n")
	resp, body = r.response()
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, strings.Repeat("a", 12))
	require.NotContains(t, body, `"error"`)
}

// ReadHeaderTimeout is the option for what the header timeout bounds.
func TestServeHTTP1ReadHeaderTimeoutOption(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, HTTP1Params(HTTP1Parameters{ReadHeaderTimeout: 100 * time.Millisecond}))
	require.Equal(t, 100*time.Millisecond, e.srv.h1.headerTimeout)
	r := e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\n") // and the rest never comes
	r.closed()

	// The defaults: 10 s for the header, the idle timeout for the body.
	d := newH1Env(t, KeepaliveParams(ServerParameters{MaxConnectionIdle: time.Minute}))
	require.Equal(t, http1HeaderTimeout, d.srv.h1.headerTimeout)
	require.Equal(t, time.Minute, d.srv.h1.bodyTimeout)
}

// A stalled body waits no longer than the call's own deadline (the timeout
// the client sent), however long BodyReadTimeout is.
func TestServeHTTP1StalledBodyEndsAtTheCallsDeadline(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t) // BodyReadTimeout: the 2 minutes' idle timeout
	r := e.dial(t)
	r.send("POST /test.Echo/Concat HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\n" +
		"Connect-Timeout-Ms: 200\r\nTransfer-Encoding: chunked\r\n\r\n" + connectJSONEnvelope(`"a"`))
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, `"code":"deadline_exceeded"`)
	require.NotContains(t, body, "BodyReadTimeout", "the call's deadline, not the body's stall")
	r.closed()

	r = e.dial(t)
	r.send("POST /test.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Connect-Timeout-Ms: 200\r\nContent-Length: 10\r\n\r\n\"hi")
	resp, body = r.response()
	require.Contains(t, body, `"code":"deadline_exceeded"`, "status %d", resp.StatusCode)
	r.closed()
}

// floodDesc's Flood sends 1 MiB messages until a send fails, and reports
// that failure on floodEnded.
var (
	floodEnded = make(chan error, 1)
	floodDesc  = ServiceDesc{
		ServiceName: "test.Flood",
		HandlerType: (*echoServer)(nil),
		Streams: []StreamDesc{{StreamName: "Flood", ServerStreams: true, Handler: func(_ any, stream ServerStream) error {
			if err := stream.RecvMsg(new(wrapperspb.Int32Value)); err != nil {
				return err
			}
			big := wrapperspb.String(strings.Repeat("x", 1<<20))
			for {
				if err := stream.SendMsg(big); err != nil {
					floodEnded <- err
					return err
				}
			}
		}}},
		Metadata: "test.proto",
	}
)

// A client that stops reading its response is cut off after WriteTimeout:
// the handler's Send fails instead of blocking for ever.
func TestServeHTTP1WriteTimeout(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer(HTTP1Params(HTTP1Parameters{WriteTimeout: 300 * time.Millisecond}))
	srv.RegisterService(&floodDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	r := (&h1Env{addr: l.Addr().String()}).dial(t)
	_ = r.c.(*net.TCPConn).SetReadBuffer(64 << 10)
	r.send("POST /test.Flood/Flood HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\n" +
		"Content-Length: 5\r\n\r\n\x00\x00\x00\x00\x00") // an empty request message; then read nothing
	select {
	case err := <-floodEnded:
		require.Error(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the handler is still blocked writing to a client that does not read")
	}
	// The connection is closed: what was sent drains, then it ends.
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, r.br)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection was kept open: %v", err)
}

// A client that reads slowly but steadily gets a response larger than what
// the kernel buffers, although reading it takes longer than WriteTimeout and
// the server's write, once its socket's send buffer (several MiB) is full,
// waits for a third of that buffer to be read before it can go on: longer
// than WriteTimeout at this reader's pace (writePiece).
func TestServeHTTP1SlowReaderGetsItsResponse(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, HTTP1Params(HTTP1Parameters{WriteTimeout: time.Second}))
	r := e.dial(t)
	_ = r.c.(*net.TCPConn).SetReadBuffer(64 << 10)
	const size = 8 << 20
	r.send(connectJSON(fmt.Sprintf(`"big:%d"`, size)))
	_ = r.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(r.br, nil)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)

	// 2 MiB at once: the server's send buffer fills behind them, and its
	// write of the rest blocks. Then 2 MiB at 640 KiB/s, 32 KiB every 50 ms
	// (taking 20 times less than the timeout between reads), while that
	// write waits about 2 s for a MiB and more to be read. Then the rest.
	buf := make([]byte, 32<<10)
	n, err := io.ReadFull(resp.Body, make([]byte, 2<<20))
	require.NoError(t, err)
	for n < 4<<20 {
		time.Sleep(50 * time.Millisecond)
		m, err := resp.Body.Read(buf)
		n += m
		require.NoError(t, err)
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err, "cut off after %d bytes", n+int(rest))
	require.Equal(t, size+2, n+int(rest), "the whole JSON string")
}

// A timed write leaves its deadline on the connection; a later response
// written while the next request waits (pipelined) is timed afresh, not cut
// off by that old deadline.
func TestServeHTTP1WriteAfterAnOldDeadline(t *testing.T) {
	checkNoLeaks(t)
	e := newH1Env(t, HTTP1Params(HTTP1Parameters{WriteTimeout: 100 * time.Millisecond}))
	r := e.dial(t)
	r.send(connectJSON(`"big:20000"`)) // written by a timed writev
	resp, body := r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Len(t, body, 20002)
	time.Sleep(300 * time.Millisecond) // the deadline of that write passes
	r.send(connectJSON(`"one"`) + connectJSON(`"two"`))
	resp, body = r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"one"`, body)
	resp, body = r.response()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, `"two"`, body)
}
