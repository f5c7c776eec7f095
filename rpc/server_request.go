package rpc

import (
	"context"
	"net/url"
)

// RequestInfo describes how a server call arrived: which protocol, which
// HTTP method, and for a Connect GET the query its request came in.
type RequestInfo struct {
	Protocol   string     // "grpc", "grpc-web" or "connect"
	HTTPMethod string     // "POST", or "GET" for a Connect call of a side-effect-free method
	Query      url.Values // a Connect GET's query parameters; nil for other calls
}

// RequestInfoFromContext returns how the server call ctx belongs to
// arrived, for handlers that answer differently (a cache header for GET,
// say) and for logs.
func RequestInfoFromContext(ctx context.Context) (RequestInfo, bool) {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return RequestInfo{}, false
	}
	ri := RequestInfo{Protocol: protocolNames[ss.proto], HTTPMethod: "POST"}
	if ss.proto == protoConnectGet {
		ri.HTTPMethod = "GET"
		ri.Query, _ = url.ParseQuery(ss.query())
	}
	return ri, true
}
