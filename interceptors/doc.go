// Package interceptors is the home of h2rpc's ready-made interceptors, one
// subpackage each (logging, recovery, auth, retry, timeout, ratelimit,
// validate), and of metrics, which is a stats handler rather than an
// interceptor; they use only the public API of package rpc.
//
// The recommended order of a server chain, outermost first, is
//
//	recovery, logging, timeout, ratelimit, auth, validate
//
// so that panics anywhere are caught, every call is logged with its final
// code (including the rejections made by the later interceptors), and cheap
// rejections (rate limit) run before costly ones (token checks, validation
// of the decoded request). On the client: timeout, retry, logging, validate;
// retry sits outside logging so that each attempt is logged. Metrics come
// from the stats handler, which sees every call, rejections and unknown
// methods included, whatever the chain.
package interceptors
