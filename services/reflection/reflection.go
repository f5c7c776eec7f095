package reflection

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	reflectionpb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1"
	reflectionv1alphapb "github.com/h2rpc/h2rpc/proto/grpc/reflection/v1alpha"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// ServiceInfoProvider lists the services a server serves; *rpc.Server is one.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]rpc.ServiceInfo
}

// DescriptorResolver finds files and symbols; *protoregistry.Files is one.
type DescriptorResolver interface {
	FindFileByPath(path string) (protoreflect.FileDescriptor, error)
	FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error)
}

// ExtensionResolver finds extensions; *protoregistry.Types is one.
type ExtensionResolver interface {
	FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error)
	RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool)
}

// Options configure a reflection server.
type Options struct {
	// Services lists the services to report. Required.
	Services ServiceInfoProvider
	// Descriptors defaults to protoregistry.GlobalFiles, where generated
	// code registers every .proto file it was built from.
	Descriptors DescriptorResolver
	// Extensions defaults to protoregistry.GlobalTypes.
	Extensions ExtensionResolver
}

// Server answers reflection requests. It implements the v1 service; V1Alpha
// returns the same server for the older v1alpha name that older tools use.
type Server struct {
	opts  Options
	cache sync.Map // file path -> serialized FileDescriptorProto
}

var _ reflectionpb.ServerReflectionServer = (*Server)(nil)

// NewServer returns a reflection server; it panics without Services, a
// programming error no request could recover from.
func NewServer(opts Options) *Server {
	if opts.Services == nil {
		panic("reflection: Options.Services is required")
	}
	if opts.Descriptors == nil {
		opts.Descriptors = protoregistry.GlobalFiles
	}
	if opts.Extensions == nil {
		opts.Extensions = protoregistry.GlobalTypes
	}
	return &Server{opts: opts}
}

// Register registers reflection v1 and v1alpha on s, reporting the services
// of s. The list is read per request, so services registered after this
// call are included too.
func Register(s *rpc.Server) *Server {
	r := NewServer(Options{Services: s})
	reflectionpb.RegisterServerReflectionServer(s, r)
	reflectionv1alphapb.RegisterServerReflectionServer(s, r.V1Alpha())
	return r
}

// ServerReflectionInfo answers each request on the stream in order.
func (s *Server) ServerReflectionInfo(stream rpc.BidiStreamingServer[reflectionpb.ServerReflectionRequest, reflectionpb.ServerReflectionResponse]) error {
	sent := map[string]bool{}
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err := s.answer(in, sent)
		if err != nil {
			return err
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

// answer handles one request; sent holds the files already sent on this
// stream, which are not sent again as dependencies.
func (s *Server) answer(in *reflectionpb.ServerReflectionRequest, sent map[string]bool) (*reflectionpb.ServerReflectionResponse, error) {
	out := &reflectionpb.ServerReflectionResponse{ValidHost: in.GetHost(), OriginalRequest: in}
	var err error
	switch req := in.GetMessageRequest().(type) {
	case *reflectionpb.ServerReflectionRequest_ListServices:
		out.MessageResponse = s.listServices()
	case *reflectionpb.ServerReflectionRequest_FileByFilename:
		var fd protoreflect.FileDescriptor
		if fd, err = s.opts.Descriptors.FindFileByPath(req.FileByFilename); err == nil {
			out.MessageResponse, err = s.files(fd, sent)
		} else {
			err = fmt.Errorf("file %q: %w", req.FileByFilename, err)
		}
	case *reflectionpb.ServerReflectionRequest_FileContainingSymbol:
		var d protoreflect.Descriptor
		if d, err = s.opts.Descriptors.FindDescriptorByName(protoreflect.FullName(req.FileContainingSymbol)); err == nil {
			out.MessageResponse, err = s.files(d.ParentFile(), sent)
		} else {
			err = fmt.Errorf("symbol %q: %w", req.FileContainingSymbol, err)
		}
	case *reflectionpb.ServerReflectionRequest_FileContainingExtension:
		e := req.FileContainingExtension
		var xt protoreflect.ExtensionType
		if xt, err = s.opts.Extensions.FindExtensionByNumber(protoreflect.FullName(e.GetContainingType()), protoreflect.FieldNumber(e.GetExtensionNumber())); err == nil {
			out.MessageResponse, err = s.files(xt.TypeDescriptor().ParentFile(), sent)
		} else {
			err = fmt.Errorf("extension %d of %q: %w", e.GetExtensionNumber(), e.GetContainingType(), err)
		}
	case *reflectionpb.ServerReflectionRequest_AllExtensionNumbersOfType:
		out.MessageResponse, err = s.extensionNumbers(req.AllExtensionNumbersOfType)
	default:
		return nil, status.Errorf(codes.InvalidArgument, "reflection: request without a known message_request")
	}
	if err != nil {
		out.MessageResponse = &reflectionpb.ServerReflectionResponse_ErrorResponse{ErrorResponse: &reflectionpb.ErrorResponse{
			ErrorCode: int32(codes.NotFound), ErrorMessage: err.Error(),
		}}
	}
	return out, nil
}

func (s *Server) listServices() *reflectionpb.ServerReflectionResponse_ListServicesResponse {
	infos := s.opts.Services.GetServiceInfo()
	names := make([]string, 0, len(infos))
	for name := range infos {
		names = append(names, name)
	}
	slices.Sort(names)
	resp := &reflectionpb.ListServiceResponse{}
	for _, n := range names {
		resp.Service = append(resp.Service, &reflectionpb.ServiceResponse{Name: n})
	}
	return &reflectionpb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: resp}
}

// files returns fd (always) and its transitive imports not yet sent on
// the stream, fd first, as the reflection protocol asks.
func (s *Server) files(fd protoreflect.FileDescriptor, sent map[string]bool) (*reflectionpb.ServerReflectionResponse_FileDescriptorResponse, error) {
	var out [][]byte
	seen := map[string]bool{}
	var walk func(f protoreflect.FileDescriptor, root bool) error
	walk = func(f protoreflect.FileDescriptor, root bool) error {
		if seen[f.Path()] || (!root && sent[f.Path()]) {
			return nil
		}
		seen[f.Path()] = true
		b, err := s.serialize(f)
		if err != nil {
			return err
		}
		out = append(out, b)
		sent[f.Path()] = true
		imps := f.Imports()
		for i := range imps.Len() {
			if err := walk(imps.Get(i).FileDescriptor, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(fd, true); err != nil {
		return nil, err
	}
	return &reflectionpb.ServerReflectionResponse_FileDescriptorResponse{
		FileDescriptorResponse: &reflectionpb.FileDescriptorResponse{FileDescriptorProto: out},
	}, nil
}

func (s *Server) serialize(f protoreflect.FileDescriptor) ([]byte, error) {
	if b, ok := s.cache.Load(f.Path()); ok {
		return b.([]byte), nil
	}
	if f.IsPlaceholder() {
		// An import the registry never saw: the client would get an empty
		// file and fail later with a confusing error, so say it now.
		return nil, fmt.Errorf("file %q is not registered", f.Path())
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(protodesc.ToFileDescriptorProto(f))
	if err != nil {
		return nil, fmt.Errorf("serializing %q: %w", f.Path(), err)
	}
	s.cache.Store(f.Path(), b)
	return b, nil
}

func (s *Server) extensionNumbers(typ string) (*reflectionpb.ServerReflectionResponse_AllExtensionNumbersResponse, error) {
	name := protoreflect.FullName(typ)
	d, err := s.opts.Descriptors.FindDescriptorByName(name)
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", typ, err)
	}
	if _, ok := d.(protoreflect.MessageDescriptor); !ok {
		return nil, fmt.Errorf("%s is not a message", typ)
	}
	var nums []int32
	s.opts.Extensions.RangeExtensionsByMessage(name, func(xt protoreflect.ExtensionType) bool {
		nums = append(nums, int32(xt.TypeDescriptor().Number()))
		return true
	})
	slices.Sort(nums)
	return &reflectionpb.ServerReflectionResponse_AllExtensionNumbersResponse{
		AllExtensionNumbersResponse: &reflectionpb.ExtensionNumberResponse{BaseTypeName: typ, ExtensionNumber: nums},
	}, nil
}
