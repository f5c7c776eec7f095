package orca

import (
	"errors"
	"fmt"
	"math"

	"github.com/h2rpc/h2rpc/rpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
)

// TrailerKey is the trailer that carries a binary OrcaLoadReport.
const TrailerKey = "endpoint-load-metrics-bin"

// LoadReport is an OrcaLoadReport: utilizations are fractions of what the
// server has (they may exceed 1 past soft limits), RPS and EPS are the
// queries and errors per second it serves.
type LoadReport struct {
	CPUUtilization         float64
	MemUtilization         float64
	ApplicationUtilization float64
	RPSFractional          float64
	EPS                    float64
	RequestCost            map[string]float64
	Utilization            map[string]float64
	NamedMetrics           map[string]float64
}

// The fields of xds.data.orca.v3.OrcaLoadReport.
const (
	fieldCPU         = 1
	fieldMem         = 2
	fieldRPS         = 3 // deprecated integer RPS, read when rps_fractional is absent
	fieldRequestCost = 4
	fieldUtilization = 5
	fieldRPSFrac     = 6
	fieldEPS         = 7
	fieldNamed       = 8
	fieldAppUtil     = 9
)

// Marshal encodes r as an OrcaLoadReport.
func (r *LoadReport) Marshal() []byte {
	var b []byte
	for _, f := range []struct {
		n protowire.Number
		v float64
	}{{fieldCPU, r.CPUUtilization}, {fieldMem, r.MemUtilization}, {fieldRPSFrac, r.RPSFractional}, {fieldEPS, r.EPS}, {fieldAppUtil, r.ApplicationUtilization}} {
		if f.v != 0 {
			b = protowire.AppendTag(b, f.n, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(f.v))
		}
	}
	for _, f := range []struct {
		n protowire.Number
		m map[string]float64
	}{{fieldRequestCost, r.RequestCost}, {fieldUtilization, r.Utilization}, {fieldNamed, r.NamedMetrics}} {
		for k, v := range f.m {
			var e []byte
			e = protowire.AppendTag(e, 1, protowire.BytesType)
			e = protowire.AppendString(e, k)
			e = protowire.AppendTag(e, 2, protowire.Fixed64Type)
			e = protowire.AppendFixed64(e, math.Float64bits(v))
			b = protowire.AppendTag(b, f.n, protowire.BytesType)
			b = protowire.AppendBytes(b, e)
		}
	}
	return b
}

// Trailer is the trailer metadata that carries r.
func Trailer(r *LoadReport) metadata.MD {
	return metadata.Pairs(TrailerKey, string(r.Marshal()))
}

// ErrMalformed is wrapped by the errors of Unmarshal and ParseCore.
var ErrMalformed = errors.New("orca: malformed load report")

// Unmarshal decodes an OrcaLoadReport.
func Unmarshal(b []byte) (*LoadReport, error) {
	r := &LoadReport{}
	err := walk(b, func(n protowire.Number, v float64) {
		switch n {
		case fieldCPU:
			r.CPUUtilization = v
		case fieldMem:
			r.MemUtilization = v
		case fieldRPSFrac:
			r.RPSFractional = v
		case fieldRPS:
			if r.RPSFractional == 0 {
				r.RPSFractional = v
			}
		case fieldEPS:
			r.EPS = v
		case fieldAppUtil:
			r.ApplicationUtilization = v
		}
	}, func(n protowire.Number, k string, v float64) {
		var m *map[string]float64
		switch n {
		case fieldRequestCost:
			m = &r.RequestCost
		case fieldUtilization:
			m = &r.Utilization
		case fieldNamed:
			m = &r.NamedMetrics
		default:
			return
		}
		if *m == nil {
			*m = map[string]float64{}
		}
		(*m)[k] = v
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Core is what a balancer weighs servers by.
type Core struct {
	CPUUtilization, ApplicationUtilization, RPS, EPS float64
}

// ParseCore decodes only the scalar fields a balancer needs, without
// allocating: it runs once per call.
func ParseCore(b []byte) (Core, error) {
	var c Core
	var rpsInt float64
	err := walk(b, func(n protowire.Number, v float64) {
		switch n {
		case fieldCPU:
			c.CPUUtilization = v
		case fieldAppUtil:
			c.ApplicationUtilization = v
		case fieldRPSFrac:
			c.RPS = v
		case fieldRPS:
			rpsInt = v
		case fieldEPS:
			c.EPS = v
		}
	}, nil)
	if c.RPS == 0 {
		c.RPS = rpsInt
	}
	return c, err
}

// walk calls scalar for each double (and the integer rps) field and entry
// for each map entry.
func walk(b []byte, scalar func(protowire.Number, float64), entry func(protowire.Number, string, float64)) error {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
		}
		b = b[l:]
		switch {
		case t == protowire.Fixed64Type:
			v, l := protowire.ConsumeFixed64(b)
			if l < 0 {
				return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			scalar(n, math.Float64frombits(v))
			b = b[l:]
		case t == protowire.VarintType && n == fieldRPS:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			scalar(n, float64(v))
			b = b[l:]
		case t == protowire.BytesType && entry != nil:
			e, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			k, v, err := mapEntry(e)
			if err != nil {
				return err
			}
			entry(n, k, v)
			b = b[l:]
		default:
			l := protowire.ConsumeFieldValue(n, t, b)
			if l < 0 {
				return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			b = b[l:]
		}
	}
	return nil
}

func mapEntry(e []byte) (string, float64, error) {
	var k string
	var v float64
	for len(e) > 0 {
		n, t, l := protowire.ConsumeTag(e)
		if l < 0 {
			return "", 0, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
		}
		e = e[l:]
		switch {
		case n == 1 && t == protowire.BytesType:
			s, l := protowire.ConsumeString(e)
			if l < 0 {
				return "", 0, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			k, e = s, e[l:]
		case n == 2 && t == protowire.Fixed64Type:
			x, l := protowire.ConsumeFixed64(e)
			if l < 0 {
				return "", 0, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			v, e = math.Float64frombits(x), e[l:]
		default:
			l := protowire.ConsumeFieldValue(n, t, e)
			if l < 0 {
				return "", 0, fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(l))
			}
			e = e[l:]
		}
	}
	return k, v, nil
}
