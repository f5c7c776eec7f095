package rpc

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Codec turns messages into bytes and back. The default is protobuf; the
// name is the content-subtype that selects it (application/grpc+NAME), so it
// is lower case. See RegisterCodec.
type Codec interface {
	Name() string
	// Marshal appends the encoding of v to dst, so callers can encode
	// straight into a pooled buffer.
	Marshal(dst []byte, v any) ([]byte, error)
	// Unmarshal decodes data into v. data is only valid during the call.
	Unmarshal(data []byte, v any) error
}

type protoCodec struct{}

func (protoCodec) Name() string { return "proto" }

func (protoCodec) Marshal(dst []byte, v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return dst, fmt.Errorf("rpc: proto codec cannot marshal %T: not a proto.Message", v)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

// sizedCodec is implemented by codecs that can tell the encoded size up
// front, so the buffer is taken from the right pool class once instead of
// growing (and reallocating) while marshaling.
type sizedCodec interface {
	// Size returns the encoded size of v, or -1 when unknown.
	Size(v any) int
	// MarshalSized is Marshal right after Size on an unchanged v.
	MarshalSized(dst []byte, v any) ([]byte, error)
}

func (protoCodec) Size(v any) int {
	m, ok := v.(proto.Message)
	if !ok {
		return -1
	}
	return proto.Size(m)
}

func (c protoCodec) MarshalSized(dst []byte, v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return c.Marshal(dst, v)
	}
	// Size just ran and cached the sizes: skip the second sizing pass.
	return proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(dst, m)
}

func (protoCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rpc: proto codec cannot unmarshal into %T: not a proto.Message", v)
	}
	return proto.Unmarshal(data, m)
}

// ProtoCodec is the default codec: "application/grpc" and
// "application/grpc+proto".
var ProtoCodec Codec = protoCodec{}
