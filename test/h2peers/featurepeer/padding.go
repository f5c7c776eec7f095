package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/h2rpc/h2rpc/h2"
)

func init() {
	routes["/echo"] = func(st *h2.Stream) {
		_ = st.Respond(nil, nil)
		_, _ = io.Copy(st, st)
		_ = st.CloseWrite()
	}
	clientChecks = append(clientChecks, clientCheck{"padding: our padded request, node's padded response", checkPadding})
}

// paddings are the strategies -pad names.
var paddings = map[string]h2.PaddingStrategy{"": nil, "none": nil, "max": h2.PadMax, "aligned": h2.PadAligned}

// checkPadding: our client pads (PadMax) a body to /echo on
// node_features_server.mjs, which pads its answer (PADDING_STRATEGY_MAX).
func checkPadding(url, ca string) error {
	s, err := dial(url, ca, h2.ClientOptions{Options: h2.Options{Padding: h2.PadMax}})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	body := make([]byte, 100_000)
	_, _ = rand.Read(body)
	st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/echo"}},
		&h2.RequestOptions{Body: body, EndStream: true})
	if err != nil {
		return err
	}
	if _, err := st.Response(ctx); err != nil {
		return err
	}
	got, err := io.ReadAll(st)
	if err != nil || !bytes.Equal(got, body) {
		return fmt.Errorf("echo of %d bytes: %d back, %v", len(body), len(got), err)
	}
	return nil
}
