package rpc

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// The grpc-timeout header is 1 to 8 ASCII digits followed by a unit:
// H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds),
// n (nanoseconds).
const maxTimeoutDigits = 8

var errBadTimeout = errors.New("rpc: malformed grpc-timeout")

// timeoutUnits are tried from finest to coarsest when formatting, so the
// encoded value is as precise as 8 digits allow.
var timeoutUnits = [...]struct {
	d time.Duration
	c byte
}{
	{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'},
	{time.Second, 'S'}, {time.Minute, 'M'}, {time.Hour, 'H'},
}

// formatTimeout encodes d for grpc-timeout, rounding up so the server never
// sees a shorter deadline than the client's. Non-positive durations encode as
// "0n": the deadline has already passed.
func formatTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range timeoutUnits {
		v := d / u.d
		if d%u.d != 0 {
			v++ // round up without the overflow of (d+u-1)/u
		}
		if v <= 99999999 {
			var b [maxTimeoutDigits + 1]byte
			out := strconv.AppendInt(b[:0], int64(v), 10)
			return string(append(out, u.c))
		}
	}
	// time.Duration tops out at ~2.5M hours, which always fits above.
	return "99999999H"
}

// parseTimeout decodes a grpc-timeout value. Values too large for a
// time.Duration saturate instead of wrapping around.
func parseTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > maxTimeoutDigits+1 {
		return 0, errBadTimeout
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, errBadTimeout
	}
	var v int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadTimeout
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt64/int64(unit) {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(v) * unit, nil
}
