package reflection

import (
	"errors"
	"io"

	reflectionpb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1"
	reflectionv1alphapb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1alpha"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/proto"
)

// V1Alpha returns the server under the v1alpha service. v1alpha's messages
// are the same on the wire as v1's (same fields, same numbers), so each
// message is converted by re-encoding it, and one implementation serves both.
func (s *Server) V1Alpha() reflectionv1alphapb.ServerReflectionServer { return alpha{s} }

type alpha struct{ s *Server }

func (a alpha) ServerReflectionInfo(stream rpc.BidiStreamingServer[reflectionv1alphapb.ServerReflectionRequest, reflectionv1alphapb.ServerReflectionResponse]) error {
	sent := map[string]bool{}
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var req reflectionpb.ServerReflectionRequest
		if err := convert(in, &req); err != nil {
			return err
		}
		resp, err := a.s.answer(&req, sent)
		if err != nil {
			return err
		}
		var out reflectionv1alphapb.ServerReflectionResponse
		if err := convert(resp, &out); err != nil {
			return err
		}
		if err := stream.Send(&out); err != nil {
			return err
		}
	}
}

func convert(from, to proto.Message) error {
	b, err := proto.Marshal(from)
	if err == nil {
		err = proto.Unmarshal(b, to)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "reflection: converting between v1 and v1alpha: %v", err)
	}
	return nil
}
