package rpc

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// jsonTestFile describes a proto3 message with a field of every kind the
// JSON encoder writes itself, each also repeated, maps of every key kind, a
// oneof, a proto3 optional field, an enum, itself nested, and fields of two
// well-known types (left to protojson); and a proto2 message with a
// required field (left to protojson too).
func jsonTestFile(t *testing.T) protoreflect.FileDescriptor {
	type k = descriptorpb.FieldDescriptorProto_Type
	scalars := []struct {
		name string
		kind k
	}{
		{"b", descriptorpb.FieldDescriptorProto_TYPE_BOOL}, {"s", descriptorpb.FieldDescriptorProto_TYPE_STRING},
		{"i32", descriptorpb.FieldDescriptorProto_TYPE_INT32}, {"si32", descriptorpb.FieldDescriptorProto_TYPE_SINT32},
		{"sf32", descriptorpb.FieldDescriptorProto_TYPE_SFIXED32}, {"u32", descriptorpb.FieldDescriptorProto_TYPE_UINT32},
		{"f32", descriptorpb.FieldDescriptorProto_TYPE_FIXED32}, {"i64", descriptorpb.FieldDescriptorProto_TYPE_INT64},
		{"si64", descriptorpb.FieldDescriptorProto_TYPE_SINT64}, {"sf64", descriptorpb.FieldDescriptorProto_TYPE_SFIXED64},
		{"u64", descriptorpb.FieldDescriptorProto_TYPE_UINT64}, {"f64", descriptorpb.FieldDescriptorProto_TYPE_FIXED64},
		{"fl", descriptorpb.FieldDescriptorProto_TYPE_FLOAT}, {"db", descriptorpb.FieldDescriptorProto_TYPE_DOUBLE},
		{"by", descriptorpb.FieldDescriptorProto_TYPE_BYTES},
	}
	var fields []*descriptorpb.FieldDescriptorProto
	num := int32(0)
	field := func(name string, kind k, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		num++
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: kind.Enum(), Label: label.Enum()}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		fields = append(fields, f)
		return f
	}
	opt, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	for _, s := range scalars {
		field("single_"+s.name, s.kind, opt, "")
		field("many_"+s.name, s.kind, rep, "")
	}
	enumK, msgK := descriptorpb.FieldDescriptorProto_TYPE_ENUM, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	field("color", enumK, opt, ".jt.Color")
	field("colors", enumK, rep, ".jt.Color")
	field("child", msgK, opt, ".jt.All")
	field("children", msgK, rep, ".jt.All")
	var entries []*descriptorpb.DescriptorProto
	for _, m := range []struct {
		name     string // the field's, in CamelCase
		field    string
		key, val k
		valType  string
	}{
		{"StrInt", "str_int", descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_INT32, ""},
		{"I64Str", "i64_str", descriptorpb.FieldDescriptorProto_TYPE_INT64, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""},
		{"U32Msg", "u32_msg", descriptorpb.FieldDescriptorProto_TYPE_UINT32, msgK, ".jt.All"},
		{"BoolBytes", "bool_bytes", descriptorpb.FieldDescriptorProto_TYPE_BOOL, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""},
		{"Si32Enum", "si32_enum", descriptorpb.FieldDescriptorProto_TYPE_SINT32, enumK, ".jt.Color"},
	} {
		val := &descriptorpb.FieldDescriptorProto{Name: proto.String("value"), Number: proto.Int32(2), Type: m.val.Enum(), Label: opt.Enum()}
		if m.valType != "" {
			val.TypeName = proto.String(m.valType)
		}
		entries = append(entries, &descriptorpb.DescriptorProto{
			Name: proto.String(m.name + "Entry"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("key"), Number: proto.Int32(1), Type: m.key.Enum(), Label: opt.Enum()}, val,
			},
			Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
		})
		field(m.field, msgK, rep, ".jt.All."+m.name+"Entry")
	}
	field("one_s", descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, "").OneofIndex = proto.Int32(0)
	field("one_m", msgK, opt, ".jt.All").OneofIndex = proto.Int32(0)
	o := field("maybe", descriptorpb.FieldDescriptorProto_TYPE_INT32, opt, "")
	o.OneofIndex, o.Proto3Optional = proto.Int32(1), proto.Bool(true)
	field("when", msgK, opt, ".google.protobuf.Timestamp")
	field("wrapped", msgK, opt, ".google.protobuf.StringValue")

	fd, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto),
		protodesc.ToFileDescriptorProto(wrapperspb.File_google_protobuf_wrappers_proto),
		{
			Name: proto.String("jt.proto"), Package: proto.String("jt"), Syntax: proto.String("proto3"),
			Dependency: []string{"google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"},
			EnumType: []*descriptorpb.EnumDescriptorProto{{Name: proto.String("Color"), Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("COLOR_UNSPECIFIED"), Number: proto.Int32(0)}, {Name: proto.String("RED"), Number: proto.Int32(1)},
			}}},
			MessageType: []*descriptorpb.DescriptorProto{{
				Name: proto.String("All"), Field: fields, NestedType: entries,
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("one")}, {Name: proto.String("_maybe")}},
			}},
		},
		{
			Name: proto.String("jt2.proto"), Package: proto.String("jt2"), Syntax: proto.String("proto2"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("id"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(),
					Label: descriptorpb.FieldDescriptorProto_LABEL_REQUIRED.Enum()},
			}}},
		},
	}})
	require.NoError(t, err)
	f, err := fd.FindFileByPath("jt.proto")
	require.NoError(t, err)
	return f
}

// protojsonTestStrings are strings the encoder must escape as protojson does.
var protojsonTestStrings = []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\b\f\n\r\t", "<html>&amp;",
	"héllo wörld", "line\u2028sep\u2029", "emoji 😀", "del\x7f"}

var jsonTestFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-7, 1e-6, 123456789.125, 1e20, 1e21, 1e300,
	math.SmallestNonzeroFloat64, math.MaxFloat32, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)}

// randomValue fills a value of fd's kind (an element, for a list).
func randomValue(r *rand.Rand, fd protoreflect.FieldDescriptor, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(protojsonTestStrings[r.IntN(len(protojsonTestStrings))])
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32([]int32{0, 1, -1, math.MaxInt32, math.MinInt32}[r.IntN(5)])
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32([]uint32{0, 7, math.MaxUint32}[r.IntN(3)])
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64([]int64{0, -3, 1 << 60, math.MaxInt64, math.MinInt64}[r.IntN(5)])
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64([]uint64{0, 9, math.MaxUint64}[r.IntN(3)])
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(jsonTestFloats[r.IntN(len(jsonTestFloats))]))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(jsonTestFloats[r.IntN(len(jsonTestFloats))])
	case protoreflect.BytesKind:
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(3))) // 2 is a value the enum does not name
	}
	sub := dynamicpb.NewMessage(fd.Message())
	switch fields := sub.Descriptor().Fields(); sub.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		sub.Set(fields.ByName("seconds"), protoreflect.ValueOfInt64(1700000000+r.Int64N(1000)))
		sub.Set(fields.ByName("nanos"), protoreflect.ValueOfInt32(r.Int32N(1e9)))
	case "google.protobuf.StringValue":
		sub.Set(fields.ByName("value"), protoreflect.ValueOfString("w"))
	default:
		fillRandom(r, sub, depth+1)
	}
	return protoreflect.ValueOfMessage(sub)
}

// fillRandom sets about half of m's fields to random values; nested
// messages stop at depth 2.
func fillRandom(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if r.IntN(2) == 0 || depth >= 2 && fd.Message() != nil && !fd.IsMap() {
			continue
		}
		if fd.Message() != nil && fd.Message().ParentFile().Package() == "google.protobuf" && r.IntN(10) > 0 {
			continue // a well-known type in few messages, which protojson writes
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range r.IntN(4) {
				k := randomValue(r, fd.MapKey(), depth).MapKey()
				if fd.MapValue().Message() != nil && depth >= 1 {
					continue
				}
				mp.Set(k, randomValue(r, fd.MapValue(), depth))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range r.IntN(4) {
				l.Append(randomValue(r, fd, depth))
			}
		default:
			m.Set(fd, randomValue(r, fd, depth))
		}
	}
}

// compactJSON is protojson's output without the spaces it adds at random.
func compactJSON(t *testing.T, b []byte) string {
	var out bytes.Buffer
	require.NoError(t, json.Compact(&out, b))
	return out.String()
}

// The JSON codec writes what protojson writes (but for protojson's random
// spaces), for messages of every field kind with random values, whether
// its own encoder or protojson (well-known types) writes them.
func TestJSONCodecMarshalMatchesProtojson(t *testing.T) {
	md := jsonTestFile(t).Messages().ByName("All")
	r := rand.New(rand.NewPCG(1, 2))
	own := 0
	for i := range 500 {
		m := dynamicpb.NewMessage(md)
		fillRandom(r, m, 0)
		want, err := protojson.Marshal(m)
		require.NoError(t, err)
		got, err := JSONCodec.Marshal([]byte("prefix"), m)
		require.NoError(t, err)
		require.Equal(t, "prefix", string(got[:len("prefix")]))
		got = got[len("prefix"):]
		if _, ok := appendProtoJSON(nil, m); ok {
			own++
			require.Equal(t, compactJSON(t, want), string(got), "message %d", i)
		} else {
			require.Equal(t, compactJSON(t, want), compactJSON(t, got), "message %d", i)
		}
		back := dynamicpb.NewMessage(md)
		require.NoError(t, JSONCodec.Unmarshal(got, back), "message %d", i)
	}
	t.Logf("%d of 500 written by the codec's own encoder", own)
	// Without a Timestamp or StringValue anywhere (most messages), the
	// codec's own encoder wrote it.
	require.Greater(t, own, 250)
}

// What the encoder leaves to protojson still comes out right: the
// well-known types, a proto2 message with required fields (set, then not:
// protojson's error), invalid UTF-8 (protojson's error).
func TestJSONCodecMarshalFallsBack(t *testing.T) {
	f := jsonTestFile(t)
	md := f.Messages().ByName("All")

	ts := timestamppb.New(timestamppb.Now().AsTime())
	_, ok := appendProtoJSON(nil, ts.ProtoReflect())
	require.False(t, ok)
	got, err := JSONCodec.Marshal(nil, ts)
	require.NoError(t, err)
	want, _ := protojson.Marshal(ts)
	require.Equal(t, string(want), string(got))

	req := dynamicpb.NewMessage(jt2Req(t))
	_, ok = appendProtoJSON(nil, req)
	require.False(t, ok, "a message with required fields goes to protojson")
	_, err = JSONCodec.Marshal(nil, req)
	require.Error(t, err, "protojson refuses a required field unset")
	req.Set(req.Descriptor().Fields().ByName("id"), protoreflect.ValueOfInt32(3))
	got, err = JSONCodec.Marshal(nil, req)
	require.NoError(t, err)
	require.JSONEq(t, `{"id":3}`, string(got))

	bad := dynamicpb.NewMessage(md)
	bad.Set(md.Fields().ByName("single_s"), protoreflect.ValueOfString("bad \xff utf-8"))
	_, ok = appendProtoJSON(nil, bad)
	require.False(t, ok)
	_, err = JSONCodec.Marshal(nil, bad)
	require.Error(t, err, "invalid UTF-8 is protojson's error")
}

// jt2Req is jsonTestFile's proto2 message with a required field.
func jt2Req(t *testing.T) protoreflect.MessageDescriptor {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("jt2.proto"), Package: proto.String("jt2"), Syntax: proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("id"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(),
				Label: descriptorpb.FieldDescriptorProto_LABEL_REQUIRED.Enum()},
		}}},
	}, nil)
	require.NoError(t, err)
	return fd.Messages().ByName("Req")
}
