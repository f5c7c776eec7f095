package rpc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type upperComp struct{}

func (upperComp) Name() string { return "x-test-identity" }
func (upperComp) Compress(dst, src []byte) ([]byte, error) {
	return append(dst, src...), nil
}
func (upperComp) Decompress(dst, src []byte, max int) ([]byte, error) {
	if len(src) > max {
		return dst, ErrMessageTooLarge
	}
	return append(dst, src...), nil
}

func TestCompressorRegistry(t *testing.T) {
	require.NotNil(t, GetCompressor("gzip"))
	require.Nil(t, GetCompressor("identity"))
	require.Nil(t, GetCompressor("snappy"))
	RegisterCompressor(upperComp{})
	require.NotNil(t, GetCompressor("x-test-identity"))
	require.Contains(t, strings.Split(acceptEncodingHeader(), ","), "x-test-identity")
	require.Contains(t, strings.Split(acceptEncodingHeader(), ","), "gzip")
	for _, name := range []string{"identity", "", "a,b", "a b", "Gzip2", "x\r\ny"} {
		require.Panics(t, func() { RegisterCompressor(badName{name: name}) }, name)
	}
}

type badName struct {
	upperComp
	name string
}

func (b badName) Name() string { return b.name }

func TestGzipRoundTripAndLimit(t *testing.T) {
	gz := GetCompressor("gzip")
	src := bytes.Repeat([]byte("0123456789"), 10000)
	c, err := gz.Compress([]byte("prefix"), src)
	require.NoError(t, err)
	require.Equal(t, "prefix", string(c[:6]))
	d, err := gz.Decompress(nil, c[6:], len(src))
	require.NoError(t, err)
	require.Equal(t, src, d)
	_, err = gz.Decompress(nil, c[6:], len(src)-1)
	require.True(t, errors.Is(err, ErrMessageTooLarge))
	// Pooled readers and writers are reused safely.
	for i := 0; i < 5; i++ {
		c2, err := gz.Compress(nil, []byte("x"))
		require.NoError(t, err)
		d2, err := gz.Decompress(nil, c2, 10)
		require.NoError(t, err)
		require.Equal(t, "x", string(d2))
	}
}
