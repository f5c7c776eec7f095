package codegen

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/pluginpb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	protoDir  = "testdata/protos"
	goldenDir = "testdata/golden"
)

// protoFiles lists the .proto files under dir, relative to it.
func protoFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(files)
	require.NotEmpty(t, files)
	return files
}

// generate runs both generators in-process, the way "generate" does.
func generate(t *testing.T, dir string, files []string, params string) []*pluginpb.CodeGeneratorResponse_File {
	t.Helper()
	req, err := BuildRequest(context.Background(), []string{dir}, files, params)
	require.NoError(t, err)
	out, err := RunPlugins(req)
	require.NoError(t, err)
	return out
}

func TestGolden(t *testing.T) {
	out := generate(t, protoDir, protoFiles(t, protoDir), "paths=source_relative")
	want := map[string]bool{}
	for _, f := range out {
		if !strings.HasSuffix(f.GetName(), FileSuffix) {
			continue
		}
		golden := filepath.Join(goldenDir, filepath.FromSlash(f.GetName())+".golden")
		want[golden] = true
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
			require.NoError(t, os.WriteFile(golden, []byte(f.GetContent()), 0o644))
			continue
		}
		b, err := os.ReadFile(golden)
		require.NoError(t, err, "missing golden file; run go test ./codegen -update")
		require.Equal(t, string(b), f.GetContent(), "%s is out of date; run go test ./codegen -update and review the diff", golden)
	}
	// Every file in one run gets stubs only if it has services.
	require.Len(t, want, 4)
	// A golden file nothing generates any more is stale.
	err := filepath.WalkDir(goldenDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !want[path] {
			if *update {
				return os.Remove(path)
			}
			t.Errorf("stale golden file %s", path)
		}
		return nil
	})
	require.NoError(t, err)
}

func generated(t *testing.T, name string) string {
	t.Helper()
	for _, f := range generate(t, protoDir, protoFiles(t, protoDir), "paths=source_relative") {
		if f.GetName() == name {
			return f.GetContent()
		}
	}
	t.Fatalf("%s was not generated", name)
	return ""
}

func TestGeneratedShape(t *testing.T) {
	src := generated(t, "kinds/kinds_h2rpc.pb.go")
	for _, want := range []string{
		"var _ = rpc.SupportPackageIsVersion1",
		`Kinds_Unary_FullMethodName        = "/h2rpc.test.kinds.Kinds/Unary"`,
		"Unary(ctx context.Context, in *Req, opts ...rpc.CallOption) (*Res, error)",
		"ServerStream(ctx context.Context, in *Req, opts ...rpc.CallOption) (rpc.ServerStreamingClient[Res], error)",
		"ClientStream(ctx context.Context, opts ...rpc.CallOption) (rpc.ClientStreamingClient[Req, Res], error)",
		"Bidi(ctx context.Context, opts ...rpc.CallOption) (rpc.BidiStreamingClient[Req, Res], error)",
		"Unary(context.Context, *Req) (*Res, error)",
		"ServerStream(*Req, rpc.ServerStreamingServer[Res]) error",
		"ClientStream(rpc.ClientStreamingServer[Req, Res]) error",
		"Bidi(rpc.BidiStreamingServer[Req, Res]) error",
		"func NewKindsClient(cc rpc.ClientConnInterface) KindsClient",
		"func RegisterKindsServer(s rpc.ServiceRegistrar, srv KindsServer)",
		"type UnimplementedKindsServer struct{}",
		`return nil, status.Error(codes.Unimplemented, "method Unary not implemented")`,
		"var Kinds_ServiceDesc = rpc.ServiceDesc{",
		`Metadata: "kinds/kinds.proto",`,
		// Comments carry over, paragraphs included.
		"// Kinds has one method of each kind.\n//\n// This second paragraph must be carried over too.\ntype KindsClient interface",
		"\t// ServerStream sends many responses.\n\tServerStream(",
		// Deprecation, with and without a comment of its own.
		"\t// OldUnary is kept for old clients.\n\t//\n\t// Deprecated: Do not use.\n\tOldUnary(",
		"\t// Deprecated: Do not use.\n\tOldBidi(",
		"// Legacy is a deprecated service.\n//\n// Deprecated: Do not use.\ntype LegacyClient interface",
		// An empty service still gets the whole API.
		"type NothingClient interface {\n}",
		"Methods:     []rpc.MethodDesc{},",
		// Aliases for code written against protoc-gen-go-grpc.
		"type Kinds_BidiServer = rpc.BidiStreamingServer[Req, Res]",
		"type Kinds_ServerStreamClient = rpc.ServerStreamingClient[Res]",
		// idempotency_level carries over, for Connect GET; the default stays unsaid.
		"MethodName:  \"Lookup\",\n\t\t\tHandler:     _Kinds_Lookup_Handler,\n\t\t\tIdempotency: rpc.NoSideEffects,",
		"MethodName:  \"Put\",\n\t\t\tHandler:     _Kinds_Put_Handler,\n\t\t\tIdempotency: rpc.Idempotent,",
		"MethodName: \"Unary\",\n\t\t\tHandler:    _Kinds_Unary_Handler,\n\t\t},",
		// The client stub tells the client, so that it may use GET.
		"c.cc.Invoke(ctx, Kinds_Lookup_FullMethodName, in, out, append([]rpc.CallOption{rpc.MethodIdempotency(rpc.NoSideEffects)}, opts...)...)",
		"c.cc.Invoke(ctx, Kinds_Put_FullMethodName, in, out, append([]rpc.CallOption{rpc.MethodIdempotency(rpc.Idempotent)}, opts...)...)",
		"c.cc.Invoke(ctx, Kinds_Unary_FullMethodName, in, out, opts...)",
	} {
		mustContain(t, src, want)
	}
	mustNotContain(t, src, "trailing comments are not carried over")
	// Streams are indexed in declaration order among streaming methods.
	mustContain(t, src, "&Kinds_ServiceDesc.Streams[3], Kinds_OldBidi_FullMethodName")
}

func TestLocalNamesAvoidImportedPackages(t *testing.T) {
	src := generated(t, "collide/collide_h2rpc.pb.go")
	// The request types come from Go packages named "stream" and "handler",
	// so the locals of those names must be renamed, or they would shadow
	// the packages.
	mustContain(t, src, "stream \"example.com/gentest/stream\"")
	mustContain(t, src, "stream_, err := c.cc.NewStream(")
	mustContain(t, src, "handler_ := func(ctx context.Context, req any) (any, error)")
	mustNotContain(t, src, "\tstream, err :=")
	mustContain(t, src, `Service_GetThing_FullMethodName        = "/h2rpc.test.collide.Service/get_thing"`)
	mustContain(t, src, "type SnakeCaseServiceClient interface")
	mustContain(t, src, `MethodName: "do_it",`)
}

func TestParamsApplyToBothGenerators(t *testing.T) {
	// Also exercises --opt with several parameters and M mappings.
	out := generate(t, protoDir, []string{"other/handler.proto"},
		"paths=import,Mother/handler.proto=example.com/elsewhere;elsewhere")
	require.Len(t, out, 1, "no services, so only protoc-gen-go writes a file")
	require.Equal(t, "example.com/elsewhere/handler.pb.go", out[0].GetName())
	require.Contains(t, out[0].GetContent(), "package elsewhere")
}

// mustContain reports only the missing text, not the whole generated file.
func mustContain(t *testing.T, src, want string) {
	t.Helper()
	if !strings.Contains(src, want) {
		t.Errorf("generated code lacks:\n%s", want)
	}
}

func mustNotContain(t *testing.T, src, unwanted string) {
	t.Helper()
	if strings.Contains(src, unwanted) {
		t.Errorf("generated code unexpectedly contains:\n%s", unwanted)
	}
}
