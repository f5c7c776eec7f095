package balancer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// LeastRequest is the name of the policy that sends each call to the
// address with the fewest calls in flight among a few chosen at random
// (gRFC A48: "power of two choices" by default).
const LeastRequest = "least_request"

// LeastRequestConfig is least_request's configuration,
// {"choiceCount": 2}: how many ready addresses each pick compares (2 to 10).
type LeastRequestConfig struct {
	ChoiceCount uint32 `json:"choiceCount"`
}

type leastRequestBuilder struct{}

func (leastRequestBuilder) Name() string { return LeastRequest }

func (leastRequestBuilder) Build(cc ClientConn, _ BuildOptions) Balancer {
	return newSpread(cc, newLeastRequestPicker)
}

func (leastRequestBuilder) ParseConfig(js json.RawMessage) (Config, error) {
	c := &LeastRequestConfig{ChoiceCount: 2}
	if len(js) > 0 {
		if err := json.Unmarshal(js, c); err != nil {
			return nil, fmt.Errorf("balancer: least_request config: %w", err)
		}
	}
	if c.ChoiceCount == 0 {
		c.ChoiceCount = 2
	}
	if c.ChoiceCount < 2 {
		return nil, fmt.Errorf("balancer: least_request choiceCount %d is below 2", c.ChoiceCount)
	}
	c.ChoiceCount = min(c.ChoiceCount, 10) // as gRFC A48 caps it
	return c, nil
}

type leastRequestPicker struct {
	ready   []*Endpoint
	choices int
}

func newLeastRequestPicker(cfg Config, ready []*Endpoint) Picker {
	choices := 2
	if c, ok := cfg.(*LeastRequestConfig); ok && c != nil {
		choices = int(c.ChoiceCount)
	}
	return &leastRequestPicker{ready: ready, choices: choices}
}

func (p *leastRequestPicker) Pick(PickInfo) (PickResult, error) {
	var best *Endpoint
	var bestN int64
	for range p.choices {
		e := p.ready[rand.IntN(len(p.ready))]
		if n := e.Outstanding.Load(); best == nil || n < bestN {
			best, bestN = e, n
		}
	}
	best.Outstanding.Add(1)
	return PickResult{SubConn: best.SubConn, Done: best.Done}, nil
}
