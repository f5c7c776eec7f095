package reflection_test

import (
	"context"
	"testing"

	reflectionpb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1"
	reflectionv1alphapb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1alpha"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func dial(t *testing.T, srv *rpc.Server) *rpc.ClientConn {
	t.Helper()
	l := rpc.NewInMemoryListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return cc
}

type testService struct {
	testpb.UnimplementedTestServiceServer
}

// standard starts a server with the test service, health and reflection.
func standard(t *testing.T) *rpc.ClientConn {
	srv := rpc.NewServer()
	testpb.RegisterTestServiceServer(srv, testService{})
	reflection.Register(srv)
	health.Register(srv) // after reflection: the list is read per request
	return dial(t, srv)
}

type v1stream = rpc.BidiStreamingClient[reflectionpb.ServerReflectionRequest, reflectionpb.ServerReflectionResponse]

func open(t *testing.T, cc *rpc.ClientConn) v1stream {
	t.Helper()
	st, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(context.Background())
	require.NoError(t, err)
	return st
}

func ask(t *testing.T, st v1stream, req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
	t.Helper()
	require.NoError(t, st.Send(req))
	resp, err := st.Recv()
	require.NoError(t, err)
	require.True(t, proto.Equal(req, resp.GetOriginalRequest()))
	return resp
}

// names decodes the file descriptors of a response into their paths.
func names(t *testing.T, resp *reflectionpb.ServerReflectionResponse) []string {
	t.Helper()
	var out []string
	for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		var fdp descriptorpb.FileDescriptorProto
		require.NoError(t, proto.Unmarshal(b, &fdp))
		out = append(out, fdp.GetName())
	}
	return out
}

func TestListServices(t *testing.T) {
	st := open(t, standard(t))
	resp := ask(t, st, &reflectionpb.ServerReflectionRequest{Host: "h", MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	require.Equal(t, "h", resp.GetValidHost())
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	require.Equal(t, []string{
		"grpc.health.v1.Health",
		"grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection",
		"grpc.testing.TestService",
	}, got)
}

func TestFileByFilenameSendsDependenciesOnce(t *testing.T) {
	st := open(t, standard(t))
	byName := func(n string) *reflectionpb.ServerReflectionRequest {
		return &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: n}}
	}
	got := names(t, ask(t, st, byName("grpc/testing/test.proto")))
	require.Equal(t, "grpc/testing/test.proto", got[0], "the asked-for file comes first")
	require.ElementsMatch(t, []string{"grpc/testing/test.proto", "grpc/testing/empty.proto", "grpc/testing/messages.proto"}, got)

	require.Equal(t, []string{"grpc/testing/messages.proto"}, names(t, ask(t, st, byName("grpc/testing/messages.proto"))),
		"an asked-for file is sent again, but not dependencies already sent")

	// A new stream starts afresh.
	st2 := open(t, standard(t))
	require.Len(t, names(t, ask(t, st2, byName("grpc/testing/test.proto"))), 3)

	resp := ask(t, st, byName("no/such.proto"))
	require.Equal(t, int32(codes.NotFound), resp.GetErrorResponse().GetErrorCode())
	require.Contains(t, resp.GetErrorResponse().GetErrorMessage(), "no/such.proto")
}

func TestFileContainingSymbol(t *testing.T) {
	st := open(t, standard(t))
	sym := func(s string) *reflectionpb.ServerReflectionRequest {
		return &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: s}}
	}
	require.Equal(t, []string{"grpc/health/v1/health.proto"}, names(t, ask(t, st, sym("grpc.health.v1.Health"))))
	require.Equal(t, "grpc/testing/test.proto", names(t, ask(t, st, sym("grpc.testing.TestService.FullDuplexCall")))[0], "methods resolve to their file")
	require.Equal(t, []string{"grpc/testing/messages.proto"}, names(t, ask(t, st, sym("grpc.testing.SimpleRequest"))))

	resp := ask(t, st, sym("grpc.testing.Nope"))
	require.Equal(t, int32(codes.NotFound), resp.GetErrorResponse().GetErrorCode())
	require.Contains(t, resp.GetErrorResponse().GetErrorMessage(), "grpc.testing.Nope")
}

// extRegistry builds a proto2 file with an extendable message and one
// extension, in registries of its own.
func extRegistry(t *testing.T) (*protoregistry.Files, *protoregistry.Types) {
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("ext/ext.proto"),
		Package: proto.String("ext"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:           proto.String("Base"),
			ExtensionRange: []*descriptorpb.DescriptorProto_ExtensionRange{{Start: proto.Int32(100), End: proto.Int32(200)}},
		}},
		Extension: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("b"), Number: proto.Int32(150), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(), Extendee: proto.String(".ext.Base")},
			{Name: proto.String("a"), Number: proto.Int32(120), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Extendee: proto.String(".ext.Base")},
		},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	require.NoError(t, err)
	files := &protoregistry.Files{}
	require.NoError(t, files.RegisterFile(fd))
	types := &protoregistry.Types{}
	for i := range fd.Extensions().Len() {
		require.NoError(t, types.RegisterExtension(dynamicpb.NewExtensionType(fd.Extensions().Get(i))))
	}
	return files, types
}

func TestExtensionsWithCustomRegistries(t *testing.T) {
	files, types := extRegistry(t)
	srv := rpc.NewServer()
	reflectionpb.RegisterServerReflectionServer(srv, reflection.NewServer(reflection.Options{Services: srv, Descriptors: files, Extensions: types}))
	st := open(t, dial(t, srv))

	resp := ask(t, st, &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "ext.Base"}})
	require.Equal(t, "ext.Base", resp.GetAllExtensionNumbersResponse().GetBaseTypeName())
	require.Equal(t, []int32{120, 150}, resp.GetAllExtensionNumbersResponse().GetExtensionNumber())

	resp = ask(t, st, &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingExtension{
		FileContainingExtension: &reflectionpb.ExtensionRequest{ContainingType: "ext.Base", ExtensionNumber: 150}}})
	require.Equal(t, []string{"ext/ext.proto"}, names(t, resp))

	for _, req := range []*reflectionpb.ServerReflectionRequest{
		{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingExtension{FileContainingExtension: &reflectionpb.ExtensionRequest{ContainingType: "ext.Base", ExtensionNumber: 151}}},
		{MessageRequest: &reflectionpb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "ext.Missing"}},
		{MessageRequest: &reflectionpb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "ext.b"}}, // an extension, not a message
		{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: "grpc/testing/test.proto"}},     // not in these registries
	} {
		require.Equal(t, int32(codes.NotFound), ask(t, st, req).GetErrorResponse().GetErrorCode(), "%v", req)
	}
}

func TestEmptyRequestEndsStream(t *testing.T) {
	st := open(t, standard(t))
	require.NoError(t, st.Send(&reflectionpb.ServerReflectionRequest{Host: "x"}))
	_, err := st.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestUnregisteredImportIsAnError(t *testing.T) {
	// A file whose import the registry lacks resolves with a placeholder
	// (AllowUnresolvable); reflection reports it instead of an empty file.
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("lonely.proto"), Package: proto.String("lonely"), Syntax: proto.String("proto3"),
		Dependency: []string{"missing/dep.proto"},
	}
	fd, err := protodesc.FileOptions{AllowUnresolvable: true}.New(fdp, &protoregistry.Files{})
	require.NoError(t, err)
	files := &protoregistry.Files{}
	require.NoError(t, files.RegisterFile(fd))
	srv := rpc.NewServer()
	reflectionpb.RegisterServerReflectionServer(srv, reflection.NewServer(reflection.Options{Services: srv, Descriptors: files}))
	st := open(t, dial(t, srv))
	resp := ask(t, st, &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: "lonely.proto"}})
	require.Equal(t, int32(codes.NotFound), resp.GetErrorResponse().GetErrorCode())
	require.Contains(t, resp.GetErrorResponse().GetErrorMessage(), `"missing/dep.proto" is not registered`)
}

func TestV1Alpha(t *testing.T) {
	cc := standard(t)
	st, err := reflectionv1alphapb.NewServerReflectionClient(cc).ServerReflectionInfo(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.Send(&reflectionv1alphapb.ServerReflectionRequest{MessageRequest: &reflectionv1alphapb.ServerReflectionRequest_ListServices{ListServices: "*"}}))
	resp, err := st.Recv()
	require.NoError(t, err)
	require.Len(t, resp.GetListServicesResponse().GetService(), 4)
	require.Equal(t, "*", resp.GetOriginalRequest().GetListServices())

	require.NoError(t, st.Send(&reflectionv1alphapb.ServerReflectionRequest{MessageRequest: &reflectionv1alphapb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "grpc.health.v1.Health"}}))
	resp, err = st.Recv()
	require.NoError(t, err)
	fds := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
	require.Len(t, fds, 1)
	var fdp descriptorpb.FileDescriptorProto
	require.NoError(t, proto.Unmarshal(fds[0], &fdp))
	require.Equal(t, "grpc/health/v1/health.proto", fdp.GetName())
	require.Equal(t, "Health", fdp.GetService()[0].GetName())

	require.NoError(t, st.Send(&reflectionv1alphapb.ServerReflectionRequest{MessageRequest: &reflectionv1alphapb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "x.Y"}}))
	resp, err = st.Recv()
	require.NoError(t, err)
	require.Equal(t, int32(codes.NotFound), resp.GetErrorResponse().GetErrorCode())
	require.NoError(t, st.CloseSend())
	_, err = st.Recv()
	require.Error(t, err)
}

func TestNewServerNeedsServices(t *testing.T) {
	require.Panics(t, func() { reflection.NewServer(reflection.Options{}) })
}
