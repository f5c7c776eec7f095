package rpc

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonCodec encodes protobuf messages in their canonical JSON mapping
// (protojson), for "application/grpc+json".
type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Marshal(dst []byte, v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return dst, fmt.Errorf("rpc: json codec cannot marshal %T: not a proto.Message", v)
	}
	return protojson.MarshalOptions{}.MarshalAppend(dst, m)
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rpc: json codec cannot unmarshal into %T: not a proto.Message", v)
	}
	// Fields this side does not know are skipped, as protobuf's binary
	// decoding keeps them: a newer peer's message still decodes.
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}

// JSONCodec is the built-in "json" codec: protobuf messages in the
// protojson mapping.
var JSONCodec Codec = jsonCodec{}
