package rpc

// reservedHeader reports whether a metadata key names a header the runtime
// or HTTP/2 owns. Such keys are dropped from user metadata rather than
// sent: a second content-type would confuse peers, and a connection-specific
// header makes the whole HEADERS frame malformed in HTTP/2 (RFC 9113 §8.2.2).
func reservedHeader(k string) bool {
	switch k {
	case "content-type", "te", "user-agent", "host",
		"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}
