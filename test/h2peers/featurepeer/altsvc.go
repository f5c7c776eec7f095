package main

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

func init() {
	// /altsvc advertises an alternative service for its own origin and for
	// another one, and names one more origin for the connection.
	routes["/altsvc"] = func(st *h2.Stream) {
		_ = st.AltSvc(`h3=":8443"; ma=60`)
		_ = st.Session().AltSvc("https://alt.example", `h2="alt.example:443"`)
		_ = st.Session().Origin("https://late.example")
		_ = st.Respond(nil, &h2.RespondOptions{Body: []byte("ok")})
	}
	clientChecks = append(clientChecks, clientCheck{"ALTSVC and ORIGIN: node sends them, we report them", checkAltSvcOrigin})
}

// checkAltSvcOrigin: node_features_server.mjs sends ORIGIN at the start of
// every session and ALTSVC (connection and stream) when asked for /altsvc.
func checkAltSvcOrigin(url, ca string) error {
	var mu sync.Mutex
	var alts, origins []string
	o := h2.ClientOptions{}
	o.Hooks.OnAltSvc = func(_ *h2.Session, value, origin string, id uint32) {
		mu.Lock()
		alts = append(alts, fmt.Sprintf("%s|%s|%t", value, origin, id != 0))
		mu.Unlock()
	}
	o.Hooks.OnOrigin = func(_ *h2.Session, os []string) {
		mu.Lock()
		origins = append(origins, os...)
		mu.Unlock()
	}
	s, err := dial(url, ca, o)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/altsvc"}}, &h2.RequestOptions{EndStream: true})
	if err != nil {
		return err
	}
	if _, err := st.Response(ctx); err != nil {
		return err
	}
	wantAlts := []string{`h3=":8443"; ma=60||true`, `h2="alt.example:443"|https://alt.example|false`}
	wantOrigins := []string{"https://a.example", "https://b.example:8443"}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		done := len(alts) >= 2 && len(origins) >= 2
		gotAlts, gotOrigins := slices.Clone(alts), slices.Clone(origins)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			slices.Sort(gotAlts)
			slices.Sort(wantAlts)
			if !slices.Equal(gotAlts, wantAlts) || !slices.Equal(gotOrigins, wantOrigins) {
				return fmt.Errorf("altsvc %q, origins %q", gotAlts, gotOrigins)
			}
			break
		}
	}
	set := s.OriginSet()
	for _, o := range wantOrigins {
		if !slices.Contains(set, o) {
			return fmt.Errorf("origin set %q lacks %s", set, o)
		}
	}
	return nil
}
