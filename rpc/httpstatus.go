package rpc

import "github.com/h2rpc/h2rpc/rpc/codes"

// httpStatusToCode maps the HTTP status of a response that is not a gRPC
// response (a proxy error page, say) to a code, per the gRPC spec
// "HTTP to gRPC Status Code Mapping".
func httpStatusToCode(s int) codes.Code {
	switch s {
	case 400:
		return codes.Internal
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.Unimplemented
	case 429, 502, 503, 504:
		return codes.Unavailable
	}
	return codes.Unknown
}
