package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

var (
	serve    = flag.String("serve", "", "serve h2c on this address instead of benchmarking")
	target   = flag.String("addr", "", "the server's host:port")
	rounds   = flag.Int("rounds", 3, "rounds per shape; the clients alternate within each")
	duration = flag.Duration("duration", time.Second, "how long each client runs per round")
	only     = flag.String("only", "", "run only this shape, as body/c (1k/1, 1m/64, ...)")
	client   = flag.String("client", "both", "ours, net/http or both")
	cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
)

var sizes = map[string]int{"1k": 1 << 10, "1m": 1 << 20}

func main() {
	flag.Parse()
	if *serve != "" {
		serveBodies(*serve)
		return
	}
	shapes := []struct {
		path string
		conc int
	}{{"1k", 1}, {"1k", 64}, {"1m", 1}, {"1m", 64}}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	fmt.Println("| body | c | h2.Transport req/s | net/http req/s | ratio (median) | allocs/req ours | allocs/req net/http |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, sh := range shapes {
		if *only != "" && *only != fmt.Sprintf("%s/%d", sh.path, sh.conc) {
			continue
		}
		var ours, theirs, ratios []float64
		var oursAllocs, theirsAllocs float64
		for range *rounds {
			o, oa, n, na := 1.0, 0.0, 1.0, 0.0
			if *client != "net/http" {
				o, oa = run(newOurs(), sh.path, sh.conc)
			}
			if *client != "ours" {
				n, na = run(newNetHTTP(), sh.path, sh.conc)
			}
			ours, theirs = append(ours, o), append(theirs, n)
			ratios = append(ratios, o/n)
			oursAllocs, theirsAllocs = oa, na
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %.2fx | %.0f | %.0f |\n", sh.path, sh.conc,
			median(ours), median(theirs), median(ratios), oursAllocs, theirsAllocs)
	}
}

func newOurs() *http.Client { return &http.Client{Transport: &h2.Transport{AllowHTTP: true}} }

func newNetHTTP() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// run fetches path with conc goroutines for the duration (after a warm-up
// that opens the session) and returns requests per second and allocations
// per request in this process.
func run(c *http.Client, path string, conc int) (float64, float64) {
	defer c.CloseIdleConnections()
	url := "http://" + *target + "/" + path
	want := int64(sizes[path])
	fetch := func() {
		res, err := c.Get(url)
		if err != nil {
			log.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if err != nil || n != want {
			log.Fatalf("%s: %d bytes, %v", url, n, err)
		}
	}
	for range conc {
		fetch()
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var count atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fetch()
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(count.Load())
	return n / elapsed.Seconds(), float64(after.Mallocs-before.Mallocs) / n
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// serveBodies answers /1k and /1m with bodies of those sizes.
func serveBodies(addr string) {
	bodies := map[string][]byte{}
	for name, n := range sizes {
		bodies["/"+name] = bytes.Repeat([]byte("x"), n)
	}
	srv := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
		body, ok := bodies[st.Path()]
		if !ok {
			_ = st.Respond(h2.Header{{Name: ":status", Value: "404"}}, &h2.RespondOptions{EndStream: true})
			return
		}
		_ = st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-length", Value: fmt.Sprint(len(body))}},
			&h2.RespondOptions{Body: body})
	})}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log.Fatal(srv.Serve(l))
}
