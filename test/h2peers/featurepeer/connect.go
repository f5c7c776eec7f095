package main

import (
	"fmt"
	"io"

	"github.com/h2rpc/h2rpc/h2"
)

func init() {
	clientChecks = append(clientChecks, clientCheck{"extended CONNECT: we open a :protocol tunnel to node", checkExtendedConnect})
}

// serveConnect echoes an extended CONNECT stream (RFC 8441) back, with the
// request's :protocol in the response.
func serveConnect(st *h2.Stream) {
	if st.Protocol() == "" {
		st.Reset(h2.ErrCodeRefusedStream)
		return
	}
	_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "x-protocol", Value: st.Protocol()}}, nil)
	_, _ = io.Copy(st, st)
	_ = st.CloseWrite()
}

// checkExtendedConnect: node_features_server.mjs enables the CONNECT
// protocol and echoes a "websocket" tunnel.
func checkExtendedConnect(url, ca string) error {
	s, err := dial(url, ca, h2.ClientOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"},
		{Name: ":path", Value: "/chat"}}, nil)
	if err != nil {
		return err
	}
	h, err := st.Response(ctx)
	if err != nil {
		return err
	}
	if h.Get(":status") != "200" || h.Get("x-protocol") != "websocket" || h.Get("x-path") != "/chat" {
		return fmt.Errorf("response %v", h)
	}
	if _, err := st.End([]byte("over the tunnel"), nil); err != nil {
		return err
	}
	b, err := io.ReadAll(st)
	if err != nil || string(b) != "over the tunnel" {
		return fmt.Errorf("echo %q, %v", b, err)
	}
	return nil
}
