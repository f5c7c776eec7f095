package metrics

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHistogramText(t *testing.T) {
	f := newFamily("x_seconds", "Help text.", []float64{0.1, 1}, "a", "b")
	for _, v := range []float64{0.05, 0.1, 0.5, 2} {
		f.observe(v, "pq", []string{"p", "q"})
	}
	f.observe(0.01, "odd", []string{"p", `odd"va\lue` + "\n"})
	var b strings.Builder
	require.NoError(t, f.write(&b))
	require.Equal(t, `# HELP x_seconds Help text.
# TYPE x_seconds histogram
x_seconds_bucket{a="p",b="odd\"va\\lue\n",le="0.1"} 1
x_seconds_bucket{a="p",b="odd\"va\\lue\n",le="1"} 1
x_seconds_bucket{a="p",b="odd\"va\\lue\n",le="+Inf"} 1
x_seconds_sum{a="p",b="odd\"va\\lue\n"} 0.01
x_seconds_count{a="p",b="odd\"va\\lue\n"} 1
x_seconds_bucket{a="p",b="q",le="0.1"} 2
x_seconds_bucket{a="p",b="q",le="1"} 3
x_seconds_bucket{a="p",b="q",le="+Inf"} 4
x_seconds_sum{a="p",b="q"} 2.65
x_seconds_count{a="p",b="q"} 4
`, b.String())
}

func TestBadBuckets(t *testing.T) {
	for _, o := range []Options{
		{DurationBuckets: []float64{}},
		{SizeBuckets: []float64{1, 1}},
		{CountBuckets: []float64{2, 1}},
		{DurationBuckets: []float64{1, math.Inf(1)}},
		{DurationBuckets: []float64{math.NaN()}},
	} {
		_, err := New(o)
		require.Error(t, err, "%+v", o)
	}
	_, err := New(Options{SizeBuckets: []float64{1, 1}})
	require.ErrorContains(t, err, "size buckets must increase")
}

func TestFormatFloat(t *testing.T) {
	require.Equal(t, "+Inf", formatFloat(math.Inf(1)))
	require.Equal(t, "-Inf", formatFloat(math.Inf(-1)))
	require.Equal(t, "0.005", formatFloat(0.005))
	require.Equal(t, "4.194304e+06", formatFloat(4194304))
}

func TestEmptyFamilyIsLeftOut(t *testing.T) {
	f := newFamily("unused_seconds", "Never observed.", []float64{1}, "a")
	var b strings.Builder
	require.NoError(t, f.write(&b))
	require.Empty(t, b.String())
}
