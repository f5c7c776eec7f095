package rpc

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// What the JSON codec writes, and what protojson writes (with its random
// spaces), of random messages of every field kind decodes back to the
// same message; the codec's own decoder reads all of what its encoder
// wrote.
func TestJSONCodecUnmarshalRoundTrips(t *testing.T) {
	md := jsonTestFile(t).Messages().ByName("All")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		m := dynamicpb.NewMessage(md)
		fillRandom(r, m, 0)
		ours, err := JSONCodec.Marshal(nil, m)
		require.NoError(t, err)
		theirs, err := protojson.MarshalOptions{Multiline: i%2 == 0}.Marshal(m)
		require.NoError(t, err)
		for _, b := range [][]byte{ours, theirs} {
			back := dynamicpb.NewMessage(md)
			require.NoError(t, JSONCodec.Unmarshal(b, back), "message %d: %s", i, b)
			require.True(t, proto.Equal(m, back), "message %d: %s", i, b)
		}
		if _, ok := appendProtoJSON(nil, m); ok {
			require.True(t, unmarshalProtoJSON(ours, dynamicpb.NewMessage(md).ProtoReflect()), "message %d: %s", i, ours)
		}
	}
}

// On inputs outside the forms the codec's decoder reads, and on malformed
// ones, the codec says what protojson says: the same message, or an error.
func TestJSONCodecUnmarshalAgreesWithProtojson(t *testing.T) {
	md := jsonTestFile(t).Messages().ByName("All")
	inputs := []string{
		`{}`, ` { } `, `{"singleI32":1}`, `{"single_i32":1}`, `{"singleI32":"7"}`, `{"singleI32":1e2}`, `{"singleI32":1.0}`,
		`{"singleI32":01}`, `{"singleI32":-0}`, `{"singleI32":2147483648}`, `{"singleI32":null}`, `{"singleI32":true}`,
		`{"singleI64":"-9223372036854775808"}`, `{"singleI64":9223372036854775807}`, `{"singleU64":"18446744073709551616"}`,
		`{"singleU32":-1}`, `{"singleFl":3.4e39}`, `{"singleFl":"NaN"}`, `{"singleDb":"-Infinity"}`, `{"singleDb":"1.5"}`,
		`{"singleDb":1.}`, `{"singleDb":.5}`, `{"singleDb":1e}`, `{"singleDb":-0.0}`, `{"singleDb":1E+2}`,
		`{"singleB":true}`, `{"singleB":"true"}`, `{"singleB":tru}`, `{"singleB":truex}`,
		`{"singleS":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}`, `{"singleS":"\ud83d"}`, `{"singleS":"\ude00x"}`,
		`{"singleS":"\u12"}`, `{"singleS":"\x"}`, "{\"singleS\":\"a\tb\"}", "{\"singleS\":\"\xff\"}", `{"singleS":1}`,
		`{"singleBy":"AAEC"}`, `{"singleBy":"AAE"}`, `{"singleBy":"-_8="}`, `{"singleBy":"AA=="}`, `{"singleBy":"A"}`,
		`{"color":"RED"}`, `{"color":1}`, `{"color":"BLUE"}`, `{"color":7}`, `{"color":1.5}`, `{"color":x}`, `{"colors":["RED",0,"COLOR_UNSPECIFIED"]}`,
		`{"child":{"child":{"singleS":"deep"}}}`, `{"child":null}`, `{"children":[{},{"singleI32":2}]}`, `{"children":[null]}`,
		`{"manyI32":[1,2,3]}`, `{"manyI32":[]}`, `{"manyI32":[1,]}`, `{"manyI32":null}`, `{"manyS":["a","b\n"]}`,
		`{"strInt":{"a":1,"b":2}}`, `{"strInt":{"a":1,"a":2}}`, `{"strInt":{"\u0061":1}}`, `{"i64Str":{"-3":"x","07":"y"}}`,
		`{"u32Msg":{"1":{"singleI32":1}}}`, `{"boolBytes":{"true":"AA==","false":""}}`, `{"boolBytes":{"yes":""}}`,
		`{"si32Enum":{"-1":"RED"}}`, `{"strInt":null}`,
		`{"oneS":"x"}`, `{"oneS":"x","oneM":{}}`, `{"maybe":0}`, `{"maybe":0,"maybe":1}`,
		`{"singleI32":1,"singleI32":2}`, `{"singleI32":1,"single_i32":2}`, `{"unknown":1}`, `{"unknown":{"a":[1,{}]}}`,
		`{"when":"2024-01-02T03:04:05Z"}`, `{"wrapped":"w"}`, `{"wrapped":null}`,
		``, `{`, `{"singleI32":1`, `{"singleI32"}`, `{"singleI32":1}x`, `{"singleI32":1} `, `[]`, `null`, `{,}`, `{"a" 1}`,
		`{"child":` + strings.Repeat(`{"child":`, 70) + `{}` + strings.Repeat(`}`, 71),
	}
	for _, in := range inputs {
		want := dynamicpb.NewMessage(md)
		wantErr := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(in), want)
		got := dynamicpb.NewMessage(md)
		got.Set(md.Fields().ByName("single_s"), dynamicpb.NewMessage(md).Get(md.Fields().ByName("single_s"))) // left over from a last use
		err := JSONCodec.Unmarshal([]byte(in), got)
		if wantErr != nil {
			require.Error(t, err, "%s: protojson says %v", in, wantErr)
			continue
		}
		require.NoError(t, err, in)
		require.True(t, proto.Equal(want, got), "%s: got %v, want %v", in, got, want)
	}
}

// Decoding into a message that held something: the result is what the
// JSON says, nothing of before.
func TestJSONCodecUnmarshalResets(t *testing.T) {
	md := jsonTestFile(t).Messages().ByName("All")
	m := dynamicpb.NewMessage(md)
	require.NoError(t, JSONCodec.Unmarshal([]byte(`{"singleI32":5,"manyS":["a"]}`), m))
	require.NoError(t, JSONCodec.Unmarshal([]byte(`{"singleS":"b"}`), m))
	want := dynamicpb.NewMessage(md)
	require.NoError(t, protojson.Unmarshal([]byte(`{"singleS":"b"}`), want))
	require.True(t, proto.Equal(want, m), "got %v", m)
}
