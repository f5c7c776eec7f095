package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewPairsLowercase(t *testing.T) {
	md := New(map[string]string{"Foo": "1"})
	require.Equal(t, []string{"1"}, md["foo"])
	md = Pairs("A", "1", "a", "2", "b", "3")
	require.Equal(t, MD{"a": {"1", "2"}, "b": {"3"}}, md)
	require.Panics(t, func() { Pairs("odd") })
	require.Equal(t, 2, md.Len())
}

func TestGetSetAppendDelete(t *testing.T) {
	md := MD{}
	md.Set("Key", "v1")
	require.Equal(t, []string{"v1"}, md.Get("KEY"))
	md.Append("key", "v2", "v3")
	require.Equal(t, []string{"v1", "v2", "v3"}, md.Get("key"))
	md.Append("key")
	require.Len(t, md.Get("key"), 3)
	md.Set("key")
	require.Nil(t, md.Get("key"))
	md.Set("x", "1")
	md.Delete("X")
	require.Empty(t, md)
}

func TestCopyJoin(t *testing.T) {
	a := Pairs("k", "1")
	c := a.Copy()
	c["k"][0] = "changed"
	require.Equal(t, "1", a["k"][0])
	require.Nil(t, MD(nil).Copy())
	j := Join(a, Pairs("k", "2", "z", "3"))
	require.Equal(t, MD{"k": {"1", "2"}, "z": {"3"}}, j)
}

func TestValidate(t *testing.T) {
	require.NoError(t, ValidateKey("x-user_id.v2"))
	for _, bad := range []string{"", "Upper", "sp ace", ":path", "grpc-timeout", "é"} {
		require.Error(t, ValidateKey(bad), bad)
	}
	require.NoError(t, ValidateValue("k", "hello world ~"))
	require.Error(t, ValidateValue("k", " lead"))
	require.Error(t, ValidateValue("k", "trail "))
	require.NoError(t, ValidateValue("k-bin", " any "))
	require.Error(t, ValidateValue("k", "tab\there"))
	require.Error(t, ValidateValue("k", "caf\xc3\xa9"))
	require.NoError(t, ValidateValue("k-bin", "\x00\xff"))
	require.NoError(t, Pairs("a", "b", "c-bin", "\x00").Validate())
	require.Error(t, MD{"a": {"\n"}}.Validate())
	require.Error(t, MD{"A": {"x"}}.Validate())
}

func TestBinEncoding(t *testing.T) {
	for _, v := range []string{"", "a", "ab", "abc", "abcd", "\x00\x01\xfe\xff"} {
		enc := EncodeBin(v)
		require.NotContains(t, enc, "=")
		got, err := DecodeBin(enc)
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
	got, err := DecodeBin("YQ==") // padded
	require.NoError(t, err)
	require.Equal(t, "a", got)
	got, err = DecodeBin("YQ") // unpadded
	require.NoError(t, err)
	require.Equal(t, "a", got)
	for _, bad := range []string{"Y", "!!!!", "YQ=", "Y=Q="} {
		_, err := DecodeBin(bad)
		require.Error(t, err, bad)
	}
}

func TestContextsNeverMix(t *testing.T) {
	ctx := context.Background()
	_, ok := FromIncomingContext(ctx)
	require.False(t, ok)
	_, ok = FromOutgoingContext(ctx)
	require.False(t, ok)

	in := NewIncomingContext(ctx, Pairs("in", "1"))
	_, ok = FromOutgoingContext(in)
	require.False(t, ok, "incoming metadata must not be sent")
	out := NewOutgoingContext(in, Pairs("out", "2"))
	md, ok := FromIncomingContext(out)
	require.True(t, ok)
	require.Equal(t, MD{"in": {"1"}}, md)
	md["in"][0] = "mutated"
	require.Equal(t, []string{"1"}, ValueFromIncomingContext(out, "IN"), "FromIncomingContext must copy")
	require.Nil(t, ValueFromIncomingContext(ctx, "in"))
	md, ok = FromOutgoingContext(out)
	require.True(t, ok)
	require.Equal(t, MD{"out": {"2"}}, md)
}

func TestIncomingNilAndKey(t *testing.T) {
	md, ok := FromIncomingContext(NewIncomingContext(context.Background(), nil))
	require.True(t, ok)
	require.NotNil(t, md)
	md.Set("k", "v") // must not panic on a nil map
	require.True(t, IsIncomingKey(incomingKey{}))
	require.False(t, IsIncomingKey(outgoingKey{}))
	require.False(t, IsIncomingKey("x"))
}

func TestAppendToOutgoing(t *testing.T) {
	base := NewOutgoingContext(context.Background(), MD{"a": {"1"}})
	c1 := AppendToOutgoingContext(base, "B", "2")
	c2 := AppendToOutgoingContext(c1, "a", "3")
	c1b := AppendToOutgoingContext(c1, "c", "4")
	md, _ := FromOutgoingContext(c2)
	require.Equal(t, MD{"a": {"1", "3"}, "b": {"2"}}, md)
	md, _ = FromOutgoingContext(c1b)
	require.Equal(t, MD{"a": {"1"}, "b": {"2"}, "c": {"4"}}, md, "siblings must not see each other's pairs")
	md, _ = FromOutgoingContext(AppendToOutgoingContext(context.Background(), "x", "y"))
	require.Equal(t, MD{"x": {"y"}}, md)
	require.Panics(t, func() { AppendToOutgoingContext(base, "odd") })

	var seen []string
	RangeOutgoing(c2, func(k, v string) { seen = append(seen, k+"="+v) })
	require.ElementsMatch(t, []string{"a=1", "b=2", "a=3"}, seen)
	RangeOutgoing(context.Background(), func(k, v string) { t.Fatal("no metadata expected") })
}

func FuzzDecodeBin(f *testing.F) {
	for _, s := range []string{"", "YQ", "YQ==", "AAEC/w", "!!", "Y=Q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := DecodeBin(s)
		if err != nil {
			return
		}
		// Whatever decodes must round-trip through our canonical encoding.
		back, err := DecodeBin(EncodeBin(v))
		require.NoError(t, err)
		require.Equal(t, v, back)
	})
}
