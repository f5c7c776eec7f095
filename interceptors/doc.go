// Package interceptors is the home of h2rpc's ready-made interceptors, one
// subpackage each (logging, recovery, auth, metrics, retry, timeout,
// ratelimit, validate); they use only the public API of package rpc.
//
// The recommended order of a server chain, outermost first, is
//
//	recovery, logging, metrics, timeout, ratelimit, auth, validate
//
// so that panics anywhere are caught, every call is logged and counted with
// its final code (including the rejections made by the later interceptors),
// and cheap rejections (rate limit) run before costly ones (token checks,
// validation of the decoded request). On the client: timeout, retry, logging,
// metrics, validate; retry sits outside logging and metrics so that each
// attempt is logged and counted.
package interceptors
