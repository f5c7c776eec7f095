package metrics

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// family is one histogram metric with its series, one per label set.
type family struct {
	name    string
	help    string
	labels  []string
	buckets []float64 // upper bounds, increasing, without +Inf

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	values []string
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newFamily(name, help string, buckets []float64, labels ...string) *family {
	return &family{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*series{}}
}

// observe adds v to the series with the label values (in f.labels order);
// key identifies the values (labels.go builds both once per method).
func (f *family) observe(v float64, key string, values []string) {
	i, _ := slices.BinarySearch(f.buckets, v) // first bucket with bound >= v
	f.mu.Lock()
	s := f.series[key]
	if s == nil {
		s = &series{values: values, counts: make([]uint64, len(f.buckets)+1)}
		f.series[key] = s
	}
	s.counts[i]++
	s.sum += v
	s.count++
	f.mu.Unlock()
}

// write prints the family in the Prometheus text exposition format, with
// series sorted so that the output is stable. A family without series is
// left out, so that unused sides (a server-only process) add no noise.
func (f *family) write(w io.Writer) error {
	f.mu.Lock()
	if len(f.series) == 0 {
		f.mu.Unlock()
		return nil
	}
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	snap := make([]series, len(keys))
	for i, k := range keys {
		s := f.series[k]
		snap[i] = series{values: s.values, counts: slices.Clone(s.counts), sum: s.sum, count: s.count}
	}
	f.mu.Unlock()

	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s histogram\n", f.name, f.help, f.name)
	for _, s := range snap {
		labels := f.labelString(s.values)
		var cum uint64
		for i, bound := range f.buckets {
			cum += s.counts[i]
			fmt.Fprintf(&b, "%s_bucket{%s,le=\"%s\"} %d\n", f.name, labels, formatFloat(bound), cum)
		}
		fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %d\n", f.name, labels, s.count)
		fmt.Fprintf(&b, "%s_sum{%s} %s\n", f.name, labels, formatFloat(s.sum))
		fmt.Fprintf(&b, "%s_count{%s} %d\n", f.name, labels, s.count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f *family) labelString(values []string) string {
	var b strings.Builder
	for i, n := range f.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escape(values[i]))
		b.WriteByte('"')
	}
	return b.String()
}

// escape escapes a label value as the text format requires.
func escape(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// checkBuckets rejects bounds a histogram cannot use.
func checkBuckets(name string, b []float64) error {
	if len(b) == 0 {
		return fmt.Errorf("metrics: %s buckets are empty", name)
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metrics: %s bucket %v is not finite (+Inf is implied)", name, v)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("metrics: %s buckets must increase: %v after %v", name, v, b[i-1])
		}
	}
	return nil
}
