// Command wirecount relays TCP connections to an HTTP/2 server and counts the
// frames each direction carries, by type, over every connection. run.sh
// puts it between ghz and each interop server for a short extra run, so that
// the frames per call each server sends (and makes the client send) stand
// beside the CPU figures. It prints the address it listens on, then, once
// stopped by SIGINT or SIGTERM, one JSON object: {"to_server": tally,
// "to_client": tally}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// clientPreface is what an HTTP/2 client sends before its first frame.
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to accept clients on")
	target := flag.String("target", "", "the server's host:port")
	flag.Parse()
	if *target == "" {
		log.Fatal("wirecount: -target is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("wirecount: %v", err)
	}
	fmt.Println(ln.Addr())

	var mu sync.Mutex
	var toServer, toClient tally
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(c, *target, newCounter(&mu, &toServer, len(clientPreface)), newCounter(&mu, &toClient, 0))
		}
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = ln.Close()
	mu.Lock()
	defer mu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(map[string]tally{"to_server": toServer, "to_client": toClient}); err != nil {
		log.Fatalf("wirecount: %v", err)
	}
}

// relay connects client to target and copies both ways, counting as it goes,
// until either side closes.
func relay(client net.Conn, target string, up, down *counter) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("wirecount: %v", err)
		return
	}
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { pump(server, client, up); done <- struct{}{} }()
	go func() { pump(client, server, down); done <- struct{}{} }()
	<-done
}

// pump copies src to dst through c until src ends or dst fails, then
// half-closes dst so that the other side sees the end.
func pump(dst, src net.Conn, c *counter) {
	buf := make([]byte, 256<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			c.feed(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}
