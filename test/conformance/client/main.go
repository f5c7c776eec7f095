// Command client is the conformance client of the Connect conformance suite
// (connectrpc.com/conformance) for h2rpc: it reads ClientCompatRequests
// from stdin, each a call to make against the suite's reference server,
// makes them with an rpc.ClientConn configured as the request says
// (protocol, HTTP version, codec, compression, TLS), and writes a
// ClientCompatResponse with what the call saw to stdout. HTTP/2 calls of
// every protocol run on the client's own HTTP/2 engine; HTTP/1.1 ones
// (gRPC-Web and Connect) go through net/http's client (rpc.WithHTTPClient),
// or with -http1=own on the client's own HTTP/1.1 (rpc.WithHTTP1).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/h2rpc/h2rpc/rpc"
	v1 "github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1"
	"google.golang.org/protobuf/proto"
)

// ownHTTP1: HTTP/1.1 calls use rpc.WithHTTP1 instead of net/http's client.
var ownHTTP1 bool

func main() {
	log.SetPrefix("conformance client: ")
	http1 := flag.String("http1", "net-http", "who carries HTTP/1.1 calls: net-http (WithHTTPClient) or own (WithHTTP1)")
	flag.Parse()
	ownHTTP1 = *http1 == "own"
	var (
		outMu sync.Mutex
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 32) // calls in flight
	)
	for {
		req := new(v1.ClientCompatRequest)
		if err := readDelimited(os.Stdin, req); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			log.Fatalf("reading a request: %v", err)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp := &v1.ClientCompatResponse{TestName: req.GetTestName()}
			if res, err := run(req); err != nil {
				resp.Result = &v1.ClientCompatResponse_Error{Error: &v1.ClientErrorResult{Message: err.Error()}}
			} else {
				resp.Result = &v1.ClientCompatResponse_Response{Response: res}
			}
			outMu.Lock()
			defer outMu.Unlock()
			if err := writeDelimited(os.Stdout, resp); err != nil {
				log.Fatalf("writing a response: %v", err)
			}
		}()
	}
	wg.Wait()
}

// run makes the call req describes on a client of its own.
func run(req *v1.ClientCompatRequest) (*v1.ClientResponseResult, error) {
	opts, closeIdle, err := dialOptions(req)
	if err != nil {
		return nil, err
	}
	defer closeIdle()
	cc, err := rpc.NewClient(net.JoinHostPort(req.GetHost(), strconv.Itoa(int(req.GetPort()))), opts...)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	return invoke(cc, req)
}

// dialOptions configures a client as req asks. The returned function lets
// go of the HTTP client's idle connections.
func dialOptions(req *v1.ClientCompatRequest) ([]rpc.DialOption, func(), error) {
	var opts []rpc.DialOption
	var tc *tls.Config
	if cert := req.GetServerTlsCert(); len(cert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cert) {
			return nil, nil, errors.New("server certificate: no PEM certificate found")
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if creds := req.GetClientTlsCreds(); creds != nil {
			c, err := tls.X509KeyPair(creds.GetCert(), creds.GetKey())
			if err != nil {
				return nil, nil, fmt.Errorf("client credentials: %w", err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		opts = append(opts, rpc.WithTLS(tc))
	} else {
		opts = append(opts, rpc.WithInsecure())
	}
	switch req.GetCodec() {
	case v1.Codec_CODEC_PROTO, v1.Codec_CODEC_UNSPECIFIED:
	case v1.Codec_CODEC_JSON:
		opts = append(opts, rpc.WithProtoJSON())
	default:
		return nil, nil, fmt.Errorf("codec %v is not supported", req.GetCodec())
	}
	switch req.GetCompression() {
	case v1.Compression_COMPRESSION_IDENTITY, v1.Compression_COMPRESSION_UNSPECIFIED:
	case v1.Compression_COMPRESSION_GZIP:
		opts = append(opts, rpc.WithSendGzip())
	default:
		return nil, nil, fmt.Errorf("compression %v is not supported", req.GetCompression())
	}
	if n := req.GetMessageReceiveLimit(); n > 0 {
		opts = append(opts, rpc.WithDefaultCallOptions(rpc.MaxCallRecvMsgSize(int(n))))
	}
	noop := func() {}
	switch req.GetProtocol() {
	case v1.Protocol_PROTOCOL_GRPC:
		if req.GetHttpVersion() != v1.HTTPVersion_HTTP_VERSION_2 {
			return nil, nil, errors.New("gRPC needs HTTP/2")
		}
		return opts, noop, nil
	case v1.Protocol_PROTOCOL_GRPC_WEB:
		opts = append(opts, rpc.WithGRPCWeb())
	case v1.Protocol_PROTOCOL_CONNECT:
		opts = append(opts, rpc.WithConnect())
		if req.GetUseGetHttpMethod() {
			opts = append(opts, rpc.WithHTTPGet())
		}
	default:
		return nil, nil, fmt.Errorf("protocol %v is not supported", req.GetProtocol())
	}
	switch req.GetHttpVersion() {
	case v1.HTTPVersion_HTTP_VERSION_1:
		if ownHTTP1 {
			return append(opts, rpc.WithHTTP1()), noop, nil
		}
		// HTTP/1.1 through net/http's client.
		t := &http.Transport{TLSClientConfig: tc, DisableCompression: true, Protocols: new(http.Protocols)}
		t.Protocols.SetHTTP1(true)
		if tc != nil {
			tc.NextProtos = []string{"http/1.1"}
		}
		opts = append(opts, rpc.WithHTTPClient(&http.Client{Transport: t}))
		return opts, t.CloseIdleConnections, nil
	case v1.HTTPVersion_HTTP_VERSION_2:
		// HTTP/2 on the client's own sessions, as gRPC (no WithHTTPClient).
		return opts, noop, nil
	}
	return nil, nil, fmt.Errorf("HTTP version %v is not supported", req.GetHttpVersion())
}

// readDelimited reads a message behind its 4-byte big-endian length.
func readDelimited(r io.Reader, m proto.Message) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return proto.Unmarshal(b, m)
}

func writeDelimited(w io.Writer, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...))
	return err
}
