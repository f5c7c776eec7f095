package resolver

import (
	"errors"
	"strings"
)

// passthroughBuilder hands the endpoint to the client as it is: one address,
// or several separated by commas (the form rpc.NewClient takes without a
// scheme). It never looks again: ResolveNow does nothing.
type passthroughBuilder struct{}

func (passthroughBuilder) Scheme() string { return "passthrough" }

// ErrEmptyTarget says that a target names no address.
var ErrEmptyTarget = errors.New("resolver: empty target")

func (passthroughBuilder) Build(t Target, cc ClientConn, _ BuildOptions) (Resolver, error) {
	addrs := splitList(t.Endpoint)
	if len(addrs) == 0 {
		return nil, ErrEmptyTarget
	}
	st := State{Addresses: make([]Address, len(addrs))}
	for i, a := range addrs {
		st.Addresses[i] = Address{Addr: a}
	}
	if err := cc.UpdateState(st); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

// OverrideAuthority sends the first address as :authority.
func (passthroughBuilder) OverrideAuthority(t Target) string {
	if addrs := splitList(t.Endpoint); len(addrs) > 0 {
		return addrs[0]
	}
	return t.Endpoint
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

type nopResolver struct{}

func (nopResolver) ResolveNow() {}
func (nopResolver) Close()      {}

// unixBuilder resolves "unix:///abs/path", "unix:/abs/path" and
// "unix:rel/path" to the socket path, dialed as the address "unix:PATH".
type unixBuilder struct{}

func (unixBuilder) Scheme() string { return "unix" }

func (unixBuilder) Build(t Target, cc ClientConn, _ BuildOptions) (Resolver, error) {
	p := unixPath(t)
	if p == "" {
		return nil, ErrEmptyTarget
	}
	if err := cc.UpdateState(State{Addresses: []Address{{Addr: "unix:" + p}}}); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

// OverrideAuthority sends "localhost": a socket path is no host name.
func (unixBuilder) OverrideAuthority(Target) string { return "localhost" }

func unixPath(t Target) string {
	if len(t.Raw) <= len(t.Scheme) || t.Raw[len(t.Scheme)] != ':' {
		return t.Endpoint // a Target made by hand: its endpoint is the path
	}
	return strings.TrimPrefix(t.Raw[len(t.Scheme)+1:], "//")
}
