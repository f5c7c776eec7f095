package rpc

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"1H", time.Hour}, {"2M", 2 * time.Minute}, {"3S", 3 * time.Second},
		{"4m", 4 * time.Millisecond}, {"5u", 5 * time.Microsecond}, {"6n", 6},
		{"0n", 0}, {"99999999S", 99999999 * time.Second}, {"00000010m", 10 * time.Millisecond},
		{"99999999H", time.Duration(math.MaxInt64)},
	} {
		got, err := parseTimeout(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "S", "1", "1s", "1x", "-1S", "123456789S", "1.5S", " 1S", "1 S"} {
		_, err := parseTimeout(bad)
		require.Error(t, err, bad)
	}
}

func TestFormatTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0n"}, {-time.Second, "0n"}, {1, "1n"}, {99999999, "99999999n"},
		{100000000, "100000u"}, {time.Second + 1, "1000001u"}, {time.Hour, "3600000m"},
		{100 * 24 * time.Hour, "8640000S"}, {time.Duration(math.MaxInt64), "2562048H"},
	} {
		require.Equal(t, tc.want, formatTimeout(tc.in), tc.in.String())
	}
}

func FuzzTimeout(f *testing.F) {
	for _, s := range []string{"1H", "99999999n", "0S", "x", "12345678m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTimeout(s)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, d, time.Duration(0))
		// Re-encoding never shortens a deadline.
		back, err := parseTimeout(formatTimeout(d))
		require.NoError(t, err)
		require.GreaterOrEqual(t, back, d)
	})
}

func TestGrpcMessageEncoding(t *testing.T) {
	for _, tc := range []struct{ in, enc string }{
		{"", ""}, {"plain text", "plain text"}, {"100%", "100%25"},
		{"a\nb", "a%0Ab"}, {"\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n",
			"%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A"},
	} {
		require.Equal(t, tc.enc, encodeGrpcMessage(tc.in))
		require.Equal(t, tc.in, decodeGrpcMessage(tc.enc))
	}
	// Malformed escapes stay as they are.
	require.Equal(t, "%", decodeGrpcMessage("%"))
	require.Equal(t, "%4", decodeGrpcMessage("%4"))
	require.Equal(t, "%zz!", decodeGrpcMessage("%zz!"))
	require.Equal(t, "ok%2", decodeGrpcMessage("ok%2"))
}
