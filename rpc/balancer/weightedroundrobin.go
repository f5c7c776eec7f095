package balancer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/rpc/orca"
)

// WeightedRoundRobin is the name of the policy that spreads calls in
// proportion to each server's capacity as its ORCA load reports tell it
// (gRFC A58): weight = qps / (utilization + eps/qps × errorUtilizationPenalty),
// utilization being application_utilization when reported, else
// cpu_utilization. Servers attach a report to each response
// (rpc.SetTrailer(ctx, orca.Trailer(report))); until at least two have a
// weight, calls go round-robin.
const WeightedRoundRobin = "weighted_round_robin"

// WeightedRoundRobinConfig is weighted_round_robin's configuration, in the
// JSON of gRFC A58 (durations as "10s"). Out-of-band reporting
// (enableOobLoadReport) is not supported: the weights come from the
// reports on calls.
type WeightedRoundRobinConfig struct {
	// BlackoutPeriod: a server's weight counts only once it has reported
	// for this long (default 10 s), so a new server is not flooded on the
	// strength of its first, idle, report.
	BlackoutPeriod time.Duration
	// WeightExpirationPeriod: a weight not refreshed for this long (default
	// 3 min) is dropped, and the blackout starts again.
	WeightExpirationPeriod time.Duration
	// WeightUpdatePeriod: how often the picker takes new weights (default
	// 1 s, at least 100 ms).
	WeightUpdatePeriod time.Duration
	// ErrorUtilizationPenalty weighs the errors per second (default 1).
	ErrorUtilizationPenalty float64
}

var defaultWRRConfig = WeightedRoundRobinConfig{
	BlackoutPeriod: 10 * time.Second, WeightExpirationPeriod: 3 * time.Minute,
	WeightUpdatePeriod: time.Second, ErrorUtilizationPenalty: 1,
}

func wrrConfig(c Config) *WeightedRoundRobinConfig {
	if w, ok := c.(*WeightedRoundRobinConfig); ok && w != nil {
		return w
	}
	d := defaultWRRConfig
	return &d
}

type weightedRoundRobinBuilder struct{}

func (weightedRoundRobinBuilder) Name() string { return WeightedRoundRobin }

func (weightedRoundRobinBuilder) Build(cc ClientConn, _ BuildOptions) Balancer {
	b := newSpread(cc, newWRRPicker)
	b.weighted = true
	b.wcfg.Store(wrrConfig(nil))
	return b
}

func (weightedRoundRobinBuilder) ParseConfig(js json.RawMessage) (Config, error) {
	var j struct {
		EnableOobLoadReport     bool     `json:"enableOobLoadReport"`
		BlackoutPeriod          *string  `json:"blackoutPeriod"`
		WeightExpirationPeriod  *string  `json:"weightExpirationPeriod"`
		WeightUpdatePeriod      *string  `json:"weightUpdatePeriod"`
		ErrorUtilizationPenalty *float64 `json:"errorUtilizationPenalty"`
	}
	if len(js) > 0 {
		if err := json.Unmarshal(js, &j); err != nil {
			return nil, fmt.Errorf("balancer: weighted_round_robin config: %w", err)
		}
	}
	c := defaultWRRConfig
	for _, f := range []struct {
		s   *string
		dst *time.Duration
	}{{j.BlackoutPeriod, &c.BlackoutPeriod}, {j.WeightExpirationPeriod, &c.WeightExpirationPeriod}, {j.WeightUpdatePeriod, &c.WeightUpdatePeriod}} {
		if f.s == nil {
			continue
		}
		d, err := time.ParseDuration(*f.s)
		if err != nil || !strings.HasSuffix(*f.s, "s") || d < 0 {
			return nil, fmt.Errorf("balancer: weighted_round_robin config: bad duration %q", *f.s)
		}
		*f.dst = d
	}
	if j.ErrorUtilizationPenalty != nil {
		if *j.ErrorUtilizationPenalty < 0 {
			return nil, fmt.Errorf("balancer: weighted_round_robin config: errorUtilizationPenalty is negative")
		}
		c.ErrorUtilizationPenalty = *j.ErrorUtilizationPenalty
	}
	c.WeightUpdatePeriod = max(c.WeightUpdatePeriod, 100*time.Millisecond)
	return &c, nil
}

// endpointLoad is one address's weight, fed by the reports on its calls.
type endpointLoad struct {
	mu            sync.Mutex
	weight        float64
	nonEmptySince time.Time // first report with a weight since the blackout began
	lastUpdated   time.Time
}

// report takes the ORCA report of a call that ended, if it has one.
func (l *endpointLoad) report(d DoneInfo, cfg *WeightedRoundRobinConfig) {
	v := d.Trailer[orca.TrailerKey]
	if len(v) == 0 {
		return
	}
	c, err := orca.ParseCore([]byte(v[0]))
	if err != nil {
		return
	}
	util := c.ApplicationUtilization
	if util <= 0 {
		util = c.CPUUtilization
	}
	if util <= 0 || c.RPS <= 0 {
		return // nothing to weigh by
	}
	w := c.RPS / (util + c.EPS/c.RPS*cfg.ErrorUtilizationPenalty)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nonEmptySince.IsZero() {
		l.nonEmptySince = now
	}
	l.weight, l.lastUpdated = w, now
}

// restart begins the blackout again: the address lost its connection.
func (l *endpointLoad) restart() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nonEmptySince = time.Time{}
}

// current is the weight to use now: 0 while blacked out or expired.
func (l *endpointLoad) current(now time.Time, cfg *WeightedRoundRobinConfig) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastUpdated.IsZero() {
		return 0
	}
	if now.Sub(l.lastUpdated) >= cfg.WeightExpirationPeriod {
		l.nonEmptySince = time.Time{}
		return 0
	}
	if l.nonEmptySince.IsZero() || now.Sub(l.nonEmptySince) < cfg.BlackoutPeriod {
		return 0
	}
	return l.weight
}

// wrrPicker spreads calls by a stride scheduler over weights it takes
// anew every WeightUpdatePeriod, on the first pick after the period.
type wrrPicker struct {
	ready []*Endpoint
	cfg   *WeightedRoundRobinConfig
	sched atomic.Pointer[stride]
	next  atomic.Int64 // unix nanoseconds of the next weight update
	seq   atomic.Uint32
}

func newWRRPicker(cfg Config, ready []*Endpoint) Picker {
	p := &wrrPicker{ready: ready, cfg: wrrConfig(cfg)}
	now := time.Now()
	p.sched.Store(p.schedule(now))
	p.next.Store(now.Add(p.cfg.WeightUpdatePeriod).UnixNano())
	return p
}

func (p *wrrPicker) Pick(PickInfo) (PickResult, error) {
	now := time.Now()
	if n := p.next.Load(); now.UnixNano() >= n && p.next.CompareAndSwap(n, now.Add(p.cfg.WeightUpdatePeriod).UnixNano()) {
		p.sched.Store(p.schedule(now))
	}
	e := p.ready[p.sched.Load().pick(&p.seq)]
	return PickResult{SubConn: e.SubConn, Done: e.Done}, nil
}

// strideMax is the scaled weight of the heaviest address.
const strideMax = 0xFFFF

// stride is a static stride scheduler (as gRFC A58 describes one): in
// turn, address i is taken on a fraction w[i]/strideMax of its turns,
// staggered by off[i], so that picks follow the weights without a lock.
type stride struct {
	w   []uint32
	off []uint32
}

// schedule builds a scheduler from the addresses' current weights;
// addresses without one get the mean of the others, and with fewer than
// two weights every address weighs the same.
func (p *wrrPicker) schedule(now time.Time) *stride {
	n := len(p.ready)
	ws := make([]float64, n)
	var sum, maxW float64
	known := 0
	for i, e := range p.ready {
		if e.load == nil {
			continue
		}
		if w := e.load.current(now, p.cfg); w > 0 {
			ws[i] = w
			sum += w
			known++
		}
	}
	s := &stride{w: make([]uint32, n), off: make([]uint32, n)}
	for i := range ws {
		switch {
		case known < 2:
			ws[i] = 1
		case ws[i] == 0:
			ws[i] = sum / float64(known)
		}
		maxW = max(maxW, ws[i])
	}
	for i, w := range ws {
		s.w[i] = max(uint32(w/maxW*strideMax+0.5), 1)
		s.off[i] = uint32(uint64(i) * strideMax / uint64(n))
	}
	return s
}

func (s *stride) pick(seq *atomic.Uint32) int {
	n := uint32(len(s.w))
	for {
		q := seq.Add(1)
		i, gen := q%n, q/n
		if (uint64(s.w[i])*uint64(gen)+uint64(s.off[i]))%strideMax >= uint64(strideMax-s.w[i]) {
			return int(i)
		}
	}
}
