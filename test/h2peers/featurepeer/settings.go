package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

func init() {
	// /remote-settings reports the client's custom settings and its
	// MAX_CONCURRENT_STREAMS, as this server received them.
	routes["/remote-settings"] = func(st *h2.Stream) {
		_ = st.Respond(h2.Header{{Name: ":status", Value: "200"},
			{Name: "x-custom", Value: customString(st.Session().RemoteSettings().Custom)},
			{Name: "x-max-streams", Value: strconv.FormatUint(uint64(st.Session().RemoteSettings().MaxConcurrentStreams), 10)}},
			&h2.RespondOptions{EndStream: true})
	}
	clientChecks = append(clientChecks, clientCheck{"settings: custom settings and zero values both ways", checkSettings})
}

// serverCustom is the custom setting featurepeer's server sends.
var serverCustom = h2.Setting{ID: 0xf1, Val: 9}

func customString(ps []h2.Setting) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%x=%d", uint16(p.ID), p.Val)
	}
	return b.String()
}

// checkSettings: node_features_server.mjs sends the custom setting 0xf2=5;
// we send 0xf3=11 and MAX_CONCURRENT_STREAMS 0, and it reports both.
func checkSettings(url, ca string) error {
	o := h2.ClientOptions{}
	o.Settings = h2.Settings{}.With(0xf3, 11).With(h2.SettingMaxConcurrentStreams, 0)
	s, err := dial(url, ca, o)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/remote-settings"}}, &h2.RequestOptions{EndStream: true})
	if err != nil {
		return err
	}
	h, err := st.Response(ctx)
	if err != nil {
		return err
	}
	_, _ = io.ReadAll(st)
	if h.Get("x-custom") != "f3=11" || h.Get("x-max-streams") != "0" {
		return fmt.Errorf("node saw custom %q, max streams %q", h.Get("x-custom"), h.Get("x-max-streams"))
	}
	if got := customString(s.RemoteSettings().Custom); got != "f2=5" {
		return fmt.Errorf("node's custom settings as we got them: %q", got)
	}
	return nil
}
