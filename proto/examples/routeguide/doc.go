// Package routeguidepb holds generated Go code for the routeguide.RouteGuide example service.
// The .proto source sits beside it; regenerate with `go generate ./proto/...`.
package routeguidepb
