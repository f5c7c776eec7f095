package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/h2rpc/h2rpc/h2"
)

const hello = "Hello from h2rpc's HTTP/2 engine!\n"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	server := flag.String("server", "bridge", `"bridge" (h2rpc's engine) or "nethttp" (net/http's HTTP/2 server)`)
	memprofile := flag.String("memprofile", "", "record every allocation; write the profile here on SIGINT or SIGTERM")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until SIGINT or SIGTERM")
	flag.Parse()
	if *memprofile != "" || *cpuprofile != "" {
		profileUntilSignal(*memprofile, *cpuprofile)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, hello)
	})
	switch *server {
	case "bridge":
		srv := &h2.Server{HTTP: h, ErrorLog: log.Printf}
		log.Fatal(srv.ListenAndServe(*addr))
	case "nethttp":
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv := &http.Server{Addr: *addr, Handler: h, Protocols: &p}
		log.Fatal(srv.ListenAndServe())
	default:
		log.Fatalf("unknown -server %q", *server)
	}
}

// profileUntilSignal records every allocation (memprofile) or the CPU
// (cpuprofile) and writes the profiles when the process is told to stop:
// the allocations per request are what the bridge's pooling is about.
func profileUntilSignal(memprofile, cpuprofile string) {
	var cpu *os.File
	if cpuprofile != "" {
		var err error
		if cpu, err = os.Create(cpuprofile); err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			log.Fatal(err)
		}
	}
	if memprofile != "" {
		runtime.MemProfileRate = 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				log.Fatal(err)
			}
		}
		if memprofile != "" {
			f, err := os.Create(memprofile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				log.Fatal(err)
			}
		}
		os.Exit(0)
	}()
}
