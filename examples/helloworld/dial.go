package main

import "github.com/h2rpc/h2rpc/rpc"

// dial opens a plaintext client connection to addr. It is the one place that
// depends on how rpc creates clients.
func dial(addr string) (*rpc.ClientConn, error) {
	return rpc.NewClient(addr, rpc.WithInsecure())
}
