// Package echopb holds generated Go code for the echo.v1.Echo service of
// README's tutorial. The .proto source sits beside it; regenerate with
// `go generate ./proto/...`.
package echopb
