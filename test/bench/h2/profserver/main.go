package main

import (
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"syscall"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8445", "listen address (host:port), h2c")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until SIGINT or SIGTERM")
	memprofile := flag.String("memprofile", "", "write an allocation profile to this file on SIGINT or SIGTERM")
	traceFile := flag.String("trace", "", "write an execution trace (go tool trace) to this file until SIGINT or SIGTERM")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				log.Fatal(err)
			}
		}()
	}
	if *traceFile != "" {
		// The goroutine hand-offs per request (wake-ups, parks, yields) are
		// read from the trace, which the CPU profile cannot show.
		f, err := os.Create(*traceFile)
		if err != nil {
			log.Fatal(err)
		}
		if err := trace.Start(f); err != nil {
			log.Fatal(err)
		}
		defer func() {
			trace.Stop()
			if err := f.Close(); err != nil {
				log.Fatal(err)
			}
		}()
	}
	if *memprofile != "" {
		// Record every allocation: the point is counting them per request.
		runtime.MemProfileRate = 1
		defer func() {
			if err := writeHeapProfile(*memprofile); err != nil {
				log.Fatal(err)
			}
		}()
	}
	srv := &h2.Server{Handler: h2.HandlerFunc(route)}
	go func() { log.Fatal(srv.Serve(ln)) }()

	// Profiles are only complete once flushed, so the signal ends the
	// process by returning through the deferred writers above.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The routes repeat examples/h2/server's (a main package cannot be imported),
// so the profile shows the same work the benchmark measures.
var hello = []byte("Hello from h2rpc's HTTP/2 engine!\n")

var rootHeader = h2.Header{
	{Name: ":status", Value: "200"},
	{Name: "content-type", Value: "text/plain; charset=utf-8"},
	{Name: "content-length", Value: strconv.Itoa(len(hello))},
}

func route(st *h2.Stream) {
	if st.Path() == "/echo" {
		echo(st)
		return
	}
	if st.Method() == "HEAD" {
		_ = st.Respond(rootHeader, &h2.RespondOptions{EndStream: true})
		return
	}
	_ = st.Respond(rootHeader, &h2.RespondOptions{Body: hello})
}

func echo(st *h2.Stream) {
	if err := st.Respond(h2.Header{{Name: ":status", Value: "200"}}, nil); err != nil {
		return
	}
	n, err := io.Copy(st, st)
	if err != nil {
		st.Reset(h2.ErrCodeInternal)
		return
	}
	_ = st.WriteTrailers(h2.Header{{Name: "x-echo-bytes", Value: strconv.FormatInt(n, 10)}})
}
