package dnstest

import (
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Server answers queries over UDP on 127.0.0.1.
type Server struct {
	conn    net.PacketConn
	mu      sync.Mutex
	records map[string][]net.IP // by lower-case fully qualified name
	// answered is when the latest answer left: a lookup it answered ended
	// after that, so tests can time intervals from it.
	answered time.Time
	done     chan struct{}
}

// Start listens on a free UDP port of 127.0.0.1 and serves until Close.
func Start() (*Server, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{conn: c, records: map[string][]net.IP{}, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Addr is the server's address, for resolver.DNSOptions.Server.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Set makes name resolve to ips (none: NXDOMAIN).
func (s *Server) Set(name string, ips ...string) {
	var parsed []net.IP
	for _, ip := range ips {
		parsed = append(parsed, net.ParseIP(ip))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[fqdn(name)] = parsed
}

// LastAnswer is when the server last sent an answer (zero before the
// first). A client's lookup that this answer ended finished later: an
// interval measured from here is never longer than the client's own.
func (s *Server) LastAnswer() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp, ok := s.answer(buf[:n]); ok {
			s.mu.Lock()
			s.answered = time.Now()
			s.mu.Unlock()
			_, _ = s.conn.WriteTo(resp, from)
		}
	}
}

func (s *Server) answer(req []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	ips, known := s.records[strings.ToLower(q.Name.String())]
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known || len(ips) == 0 {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
	for _, ip := range ips {
		switch v4 := ip.To4(); {
		case q.Type == dnsmessage.TypeA && v4 != nil:
			var a dnsmessage.AResource
			copy(a.A[:], v4)
			if b.AResource(rrh, a) != nil {
				return nil, false
			}
		case q.Type == dnsmessage.TypeAAAA && v4 == nil:
			var a dnsmessage.AAAAResource
			copy(a.AAAA[:], ip.To16())
			if b.AAAAResource(rrh, a) != nil {
				return nil, false
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
