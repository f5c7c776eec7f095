package status

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Proto is the google.rpc.Status message (code = 1, message = 2, details =
// 3), the payload of grpc-status-details-bin. It is encoded here by hand
// rather than generated, so that the runtime registers no google.rpc.Status
// in the global protobuf registry: a program that also links grpc-go (whose
// genproto package registers that name) starts without a conflict. The
// details are anypb.Any, which the protobuf module registers once for all.
type Proto struct {
	Code    int32
	Message string
	Details []*anypb.Any
}

// GetCode returns the code; 0 for nil.
func (p *Proto) GetCode() int32 {
	if p == nil {
		return 0
	}
	return p.Code
}

// GetMessage returns the message; "" for nil.
func (p *Proto) GetMessage() string {
	if p == nil {
		return ""
	}
	return p.Message
}

// GetDetails returns the details; nil for nil.
func (p *Proto) GetDetails() []*anypb.Any {
	if p == nil {
		return nil
	}
	return p.Details
}

// Field numbers of google.rpc.Status.
const (
	fieldCode    = 1
	fieldMessage = 2
	fieldDetails = 3
)

// Marshal encodes p in the protobuf wire format, fields in number order and
// zero values omitted, byte for byte what a generated google.rpc.Status gives.
func (p *Proto) Marshal() ([]byte, error) {
	var b []byte
	if p == nil {
		return b, nil
	}
	if p.Code != 0 {
		b = protowire.AppendTag(b, fieldCode, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(p.Code))) // int32: negative values sign-extend
	}
	if p.Message != "" {
		if !utf8.ValidString(p.Message) {
			return nil, errors.New("status: message is not valid UTF-8")
		}
		b = protowire.AppendTag(b, fieldMessage, protowire.BytesType)
		b = protowire.AppendString(b, p.Message)
	}
	for _, d := range p.Details {
		m, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("status: encoding detail %q: %w", d.GetTypeUrl(), err)
		}
		b = protowire.AppendTag(b, fieldDetails, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b, nil
}

// Unmarshal decodes a google.rpc.Status into p, replacing its contents.
// Unknown fields (and known numbers with an unexpected wire type, as
// protobuf does) are skipped; malformed input is an error.
func (p *Proto) Unmarshal(b []byte) error {
	*p = Proto{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("status: malformed google.rpc.Status: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fieldCode && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("status: malformed code: %w", protowire.ParseError(n))
			}
			p.Code = int32(v)
			b = b[n:]
		case num == fieldMessage && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("status: malformed message: %w", protowire.ParseError(n))
			}
			if !utf8.Valid(v) {
				return errors.New("status: message is not valid UTF-8")
			}
			p.Message = string(v)
			b = b[n:]
		case num == fieldDetails && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("status: malformed detail: %w", protowire.ParseError(n))
			}
			a := new(anypb.Any)
			if err := proto.Unmarshal(v, a); err != nil {
				return fmt.Errorf("status: malformed detail: %w", err)
			}
			p.Details = append(p.Details, a)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("status: malformed field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// String formats p for debugging, in the protobuf text style.
func (p *Proto) String() string {
	if p == nil {
		return "<nil>"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "code:%d message:%q", p.Code, p.Message)
	for _, d := range p.Details {
		fmt.Fprintf(&sb, " details:{%s}", prototext.MarshalOptions{}.Format(d))
	}
	return sb.String()
}

// clone returns a deep copy of p.
func (p *Proto) clone() *Proto {
	if p == nil {
		return nil
	}
	q := &Proto{Code: p.Code, Message: p.Message}
	if len(p.Details) > 0 {
		q.Details = make([]*anypb.Any, len(p.Details))
		for i, d := range p.Details {
			q.Details[i] = proto.Clone(d).(*anypb.Any)
		}
	}
	return q
}

// equal reports whether p and q hold the same status.
func (p *Proto) equal(q *Proto) bool {
	if p == nil || q == nil {
		return p == q
	}
	if p.Code != q.Code || p.Message != q.Message || len(p.Details) != len(q.Details) {
		return false
	}
	for i := range p.Details {
		if !proto.Equal(p.Details[i], q.Details[i]) {
			return false
		}
	}
	return true
}
