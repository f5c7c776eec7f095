package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
)

// Service config: gRPC's JSON form (the same grpc-go takes, gRFC A2), from
// WithDefaultServiceConfig or from the resolver. It chooses the balancer
// (loadBalancingConfig, or the older loadBalancingPolicy) and sets, per
// method, a timeout, wait-for-ready, message size limits and a retry policy
// (gRFC A6); retryThrottling bounds retries across the client.

// serviceConfig is a parsed service config; it is never changed once
// published, so calls read it without locks (the throttle's tokens have a
// lock of their own).
type serviceConfig struct {
	lbName   string
	lbConfig balancer.Config
	methods  map[string]*methodConfig // "/svc/method", "/svc/" for a whole service, "" for all
	throttle *throttle                // retryThrottling's bucket, nil without it
	health   *string                  // healthCheckConfig.serviceName, nil without it
}

// methodConfig is what a service config says about one method.
type methodConfig struct {
	timeout      time.Duration // 0: none
	waitForReady *bool
	maxReq       *int
	maxResp      *int
	retry        *retryPolicy
	hedge        *hedgePolicy
}

// retryPolicy is gRFC A6's retryPolicy.
type retryPolicy struct {
	maxAttempts    int
	initialBackoff time.Duration
	maxBackoff     time.Duration
	multiplier     float64
	retryable      uint32 // bit per code
}

func (p *retryPolicy) retries(c codes.Code) bool { return c < 32 && p.retryable&(1<<c) != 0 }

type throttleConfig struct {
	maxTokens  float64
	tokenRatio float64
}

// defaultBalancer is h2rpc's default policy: calls spread over every
// address, as this client always did (grpc-go defaults to pick_first).
const defaultBalancer = balancer.RoundRobin

var emptyServiceConfig = &serviceConfig{lbName: defaultBalancer}

// maxRetryAttempts caps maxAttempts, as gRFC A6 does.
const maxRetryAttempts = 5

type jsonServiceConfig struct {
	LoadBalancingPolicy string                       `json:"loadBalancingPolicy"`
	LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
	MethodConfig        []jsonMethodConfig           `json:"methodConfig"`
	HealthCheckConfig   *struct {
		ServiceName string `json:"serviceName"`
	} `json:"healthCheckConfig"`
	RetryThrottling *struct {
		MaxTokens  float64 `json:"maxTokens"`
		TokenRatio float64 `json:"tokenRatio"`
	} `json:"retryThrottling"`
}

type jsonMethodConfig struct {
	Name []struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	} `json:"name"`
	WaitForReady            *bool            `json:"waitForReady"`
	Timeout                 string           `json:"timeout"`
	MaxRequestMessageBytes  json.Number      `json:"maxRequestMessageBytes"`
	MaxResponseMessageBytes json.Number      `json:"maxResponseMessageBytes"`
	RetryPolicy             *jsonRetryPolicy `json:"retryPolicy"`
	HedgingPolicy           *struct {
		MaxAttempts         int               `json:"maxAttempts"`
		HedgingDelay        string            `json:"hedgingDelay"`
		NonFatalStatusCodes []json.RawMessage `json:"nonFatalStatusCodes"`
	} `json:"hedgingPolicy"`
}

type jsonRetryPolicy struct {
	MaxAttempts          int               `json:"maxAttempts"`
	InitialBackoff       string            `json:"initialBackoff"`
	MaxBackoff           string            `json:"maxBackoff"`
	BackoffMultiplier    float64           `json:"backoffMultiplier"`
	RetryableStatusCodes []json.RawMessage `json:"retryableStatusCodes"`
}

// ErrServiceConfig is wrapped by every service config parsing error.
var ErrServiceConfig = errors.New("rpc: invalid service config")

func scErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrServiceConfig, fmt.Sprintf(format, args...))
}

// parseServiceConfig parses and checks a service config JSON document.
func parseServiceConfig(js string) (*serviceConfig, error) {
	var j jsonServiceConfig
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServiceConfig, err)
	}
	sc := &serviceConfig{lbName: defaultBalancer, methods: map[string]*methodConfig{}}
	if err := sc.parseLB(&j); err != nil {
		return nil, err
	}
	for _, jm := range j.MethodConfig {
		mc, err := parseMethodConfig(&jm)
		if err != nil {
			return nil, err
		}
		if len(jm.Name) == 0 {
			return nil, scErr("a methodConfig without a name")
		}
		for _, n := range jm.Name {
			key := ""
			switch {
			case n.Service == "" && n.Method != "":
				return nil, scErr("method %q without a service", n.Method)
			case n.Service != "":
				key = "/" + n.Service + "/" + n.Method
			}
			if _, dup := sc.methods[key]; dup {
				return nil, scErr("method name %q is configured twice", key)
			}
			sc.methods[key] = mc
		}
	}
	if h := j.HealthCheckConfig; h != nil {
		sc.health = &h.ServiceName
	}
	if t := j.RetryThrottling; t != nil {
		if t.MaxTokens <= 0 || t.MaxTokens > 1000 || t.TokenRatio <= 0 {
			return nil, scErr("retryThrottling needs 0 < maxTokens <= 1000 and tokenRatio > 0")
		}
		// Token arithmetic keeps three decimals of tokenRatio, as gRFC A6 says.
		sc.throttle = newThrottle(&throttleConfig{maxTokens: t.MaxTokens, tokenRatio: float64(int(t.TokenRatio*1000)) / 1000})
	}
	return sc, nil
}

// parseLB takes the first policy of loadBalancingConfig this client knows,
// else loadBalancingPolicy, else the default.
func (sc *serviceConfig) parseLB(j *jsonServiceConfig) error {
	if len(j.LoadBalancingConfig) > 0 {
		for _, entry := range j.LoadBalancingConfig {
			if len(entry) != 1 {
				return scErr("each loadBalancingConfig entry names one policy")
			}
			for name, raw := range entry {
				b := balancer.Get(name)
				if b == nil {
					continue
				}
				sc.lbName = strings.ToLower(name)
				if p, ok := b.(balancer.ConfigParser); ok {
					cfg, err := p.ParseConfig(raw)
					if err != nil {
						return fmt.Errorf("%w: %w", ErrServiceConfig, err)
					}
					sc.lbConfig = cfg
				}
				return nil
			}
		}
		return scErr("no policy of loadBalancingConfig is registered")
	}
	if name := j.LoadBalancingPolicy; name != "" {
		b := balancer.Get(name)
		if b == nil {
			return scErr("unknown loadBalancingPolicy %q", name)
		}
		sc.lbName = strings.ToLower(name)
		if p, ok := b.(balancer.ConfigParser); ok {
			cfg, err := p.ParseConfig(nil)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrServiceConfig, err)
			}
			sc.lbConfig = cfg
		}
	}
	return nil
}

func parseMethodConfig(jm *jsonMethodConfig) (*methodConfig, error) {
	mc := &methodConfig{waitForReady: jm.WaitForReady}
	if jm.Timeout != "" {
		d, err := parseDuration(jm.Timeout)
		if err != nil {
			return nil, err
		}
		mc.timeout = d
	}
	for _, f := range []struct {
		n   json.Number
		dst **int
	}{{jm.MaxRequestMessageBytes, &mc.maxReq}, {jm.MaxResponseMessageBytes, &mc.maxResp}} {
		if f.n == "" {
			continue
		}
		v, err := strconv.ParseInt(string(f.n), 10, 64)
		if err != nil || v < 0 {
			return nil, scErr("bad message size %q", f.n)
		}
		n := int(min(v, int64(^uint(0)>>1)))
		*f.dst = &n
	}
	if jp := jm.RetryPolicy; jp != nil {
		p, err := parseRetryPolicy(jp)
		if err != nil {
			return nil, err
		}
		mc.retry = p
	}
	if jh := jm.HedgingPolicy; jh != nil {
		if mc.retry != nil {
			return nil, scErr("a method has both a retryPolicy and a hedgingPolicy")
		}
		if jh.MaxAttempts <= 1 {
			return nil, scErr("hedgingPolicy.maxAttempts must be above 1")
		}
		h := &hedgePolicy{maxAttempts: min(jh.MaxAttempts, maxRetryAttempts)}
		if jh.HedgingDelay != "" {
			d, err := parseDuration(jh.HedgingDelay)
			if err != nil {
				return nil, err
			}
			h.delay = d
		}
		for _, raw := range jh.NonFatalStatusCodes {
			c, err := parseJSONCode(raw)
			if err != nil {
				return nil, err
			}
			h.nonFatal |= 1 << c
		}
		mc.hedge = h
	}
	return mc, nil
}

func parseRetryPolicy(jp *jsonRetryPolicy) (*retryPolicy, error) {
	p := &retryPolicy{maxAttempts: min(jp.MaxAttempts, maxRetryAttempts), multiplier: jp.BackoffMultiplier}
	if jp.MaxAttempts <= 1 {
		return nil, scErr("retryPolicy.maxAttempts must be above 1")
	}
	var err error
	if p.initialBackoff, err = parseDuration(jp.InitialBackoff); err != nil || p.initialBackoff <= 0 {
		return nil, scErr("retryPolicy.initialBackoff must be a positive duration, not %q", jp.InitialBackoff)
	}
	if p.maxBackoff, err = parseDuration(jp.MaxBackoff); err != nil || p.maxBackoff <= 0 {
		return nil, scErr("retryPolicy.maxBackoff must be a positive duration, not %q", jp.MaxBackoff)
	}
	if p.multiplier <= 0 {
		return nil, scErr("retryPolicy.backoffMultiplier must be positive")
	}
	if len(jp.RetryableStatusCodes) == 0 {
		return nil, scErr("retryPolicy.retryableStatusCodes must not be empty")
	}
	for _, raw := range jp.RetryableStatusCodes {
		c, err := parseJSONCode(raw)
		if err != nil {
			return nil, err
		}
		p.retryable |= 1 << c
	}
	return p, nil
}

// parseJSONCode accepts a code as a name ("UNAVAILABLE") or a number (14).
func parseJSONCode(raw json.RawMessage) (codes.Code, error) {
	s := strings.TrimSpace(string(raw))
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	c, err := codes.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrServiceConfig, err)
	}
	if c == codes.OK {
		return 0, scErr("OK cannot be a retryable status code")
	}
	return c, nil
}

// parseDuration reads a protobuf JSON duration: decimal seconds and "s".
func parseDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, scErr("duration %q does not end in s", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 315576000000 {
		return 0, scErr("bad duration %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// methodConfig returns the config for the full method name "/svc/method":
// its own, else its service's, else the default, else nil.
func (sc *serviceConfig) methodConfig(method string) *methodConfig {
	if sc == nil || len(sc.methods) == 0 {
		return nil
	}
	if mc, ok := sc.methods[method]; ok {
		return mc
	}
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		if mc, ok := sc.methods[method[:i+1]]; ok {
			return mc
		}
	}
	return sc.methods[""]
}
