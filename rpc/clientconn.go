package rpc

// ClientConn is a client's connection to one or more servers; see client.go.
type ClientConn struct {
	cfg clientConfig
}

type clientConfig struct {
	unaryInt  UnaryClientInterceptor
	streamInt StreamClientInterceptor
}
