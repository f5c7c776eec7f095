package main

import (
	"fmt"
	"io"

	"github.com/h2rpc/h2rpc/h2"
)

const pushedCSS = "body { color: green }\n"

func init() {
	// /index.html pushes the stylesheet it links to: nghttp -a takes the
	// push instead of requesting it, and Node's client sees a 'stream' event.
	routes["/index.html"] = func(st *h2.Stream) {
		if st.PushAllowed() {
			if p, err := st.Push(h2.Header{{Name: ":path", Value: "/style.css"}}); err == nil {
				_ = p.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "text/css"}},
					&h2.RespondOptions{Body: []byte(pushedCSS)})
			}
		}
		_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "text/html"}},
			&h2.RespondOptions{Body: []byte(`<html><head><link rel="stylesheet" href="/style.css"></head></html>` + "\n")})
	}
	routes["/style.css"] = func(st *h2.Stream) {
		_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "x-not-pushed", Value: "1"}},
			&h2.RespondOptions{Body: []byte(pushedCSS)})
	}
	clientChecks = append(clientChecks,
		clientCheck{"push: node pushes, we take it", checkPushTaken},
		clientCheck{"push: node pushes, we refuse it (RST_STREAM CANCEL)", checkPushRefused},
	)
}

// checkPushTaken: node_features_server.mjs pushes /pushed.txt with
// /push; we read both responses.
func checkPushTaken(url, ca string) error {
	got := make(chan *h2.Stream, 1)
	o := h2.ClientOptions{}
	o.Settings.EnablePush = true
	s, err := dial(url, ca, o)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/push"}},
		&h2.RequestOptions{EndStream: true, OnPush: func(_ h2.Header, p *h2.Stream) { got <- p }})
	if err != nil {
		return err
	}
	if _, err := st.Response(ctx); err != nil {
		return err
	}
	if b, err := io.ReadAll(st); err != nil || string(b) != "parent" {
		return fmt.Errorf("parent body %q, %v", b, err)
	}
	var p *h2.Stream
	select {
	case p = <-got:
	case <-ctx.Done():
		return fmt.Errorf("no push arrived")
	}
	if path := p.PushPromise().Get(":path"); path != "/pushed.txt" {
		return fmt.Errorf("promised path %q", path)
	}
	h, err := p.Response(ctx)
	if err != nil {
		return err
	}
	if h.Get(":status") != "200" {
		return fmt.Errorf("pushed status %s", h.Get(":status"))
	}
	if b, err := io.ReadAll(p); err != nil || string(b) != "pushed by node" {
		return fmt.Errorf("pushed body %q, %v", b, err)
	}
	return nil
}

// checkPushRefused: we reset the push; Node's pushed stream closes with
// CANCEL, which it reports on /push-stats.
func checkPushRefused(url, ca string) error {
	o := h2.ClientOptions{}
	o.Settings.EnablePush = true
	o.Hooks.OnPush = func(_ *h2.Stream, _ h2.Header, p *h2.Stream) { p.Reset(h2.ErrCodeCancel) }
	s, err := dial(url, ca, o)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctx10()
	defer cancel()
	for _, path := range []string{"/push-refused", "/push-stats"} {
		st, err := s.Request(ctx, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: path}}, &h2.RequestOptions{EndStream: true})
		if err != nil {
			return err
		}
		h, err := st.Response(ctx)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(st)
		if path == "/push-stats" && (h.Get("x-refused-code") != "8" || string(b) != "ok") {
			return fmt.Errorf("node saw the push end with code %q (want 8, CANCEL)", h.Get("x-refused-code"))
		}
	}
	return nil
}
