package orca

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestRoundTrip(t *testing.T) {
	r := &LoadReport{CPUUtilization: 0.5, MemUtilization: 0.25, ApplicationUtilization: 0.75, RPSFractional: 120.5, EPS: 3,
		RequestCost: map[string]float64{"db": 2}, Utilization: map[string]float64{"gpu": 0.1}, NamedMetrics: map[string]float64{"q": 7}}
	got, err := Unmarshal(r.Marshal())
	require.NoError(t, err)
	require.Equal(t, r, got)
	c, err := ParseCore(r.Marshal())
	require.NoError(t, err)
	require.Equal(t, Core{CPUUtilization: 0.5, ApplicationUtilization: 0.75, RPS: 120.5, EPS: 3}, c)
	md := Trailer(r)
	require.Equal(t, string(r.Marshal()), md[TrailerKey][0])
}

// Fields as protoc writes them: a double, the deprecated integer rps (read
// when rps_fractional is absent), and a field this version does not know.
func TestWireFormat(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 0x3fb999999999999a) // 0.1
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 40) // the deprecated integer rps
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("unknown field"))
	c, err := ParseCore(b)
	require.NoError(t, err)
	require.Equal(t, Core{CPUUtilization: 0.1, RPS: 40}, c)

	_, err = ParseCore([]byte{0x09, 1, 2})
	require.ErrorIs(t, err, ErrMalformed)
	_, err = Unmarshal([]byte{0x22, 5, 1})
	require.ErrorIs(t, err, ErrMalformed)
}

func TestParseCoreAllocatesNothing(t *testing.T) {
	b := (&LoadReport{CPUUtilization: 0.5, RPSFractional: 10, Utilization: map[string]float64{"x": 1}}).Marshal()
	require.Zero(t, testing.AllocsPerRun(100, func() { _, _ = ParseCore(b) }))
}
