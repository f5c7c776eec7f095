package codegen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// writeProto writes name with content under a fresh directory and returns it.
func writeProto(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestSyntaxErrorsHaveFileLineColumn(t *testing.T) {
	dir := writeProto(t, map[string]string{"bad/bad.proto": "syntax = \"proto3\";\npackage bad;\n\nmessage M {\n  int32 x = ;\n}\n\nservice S { rpc R(Missing) returns (M); }\n"})
	_, err := BuildRequest(context.Background(), []string{dir}, []string{"bad/bad.proto"}, "")
	require.Error(t, err)
	require.Contains(t, err.Error(), "bad/bad.proto:5:13: syntax error")
}

func TestUnknownTypesAreReportedWithPosition(t *testing.T) {
	dir := writeProto(t, map[string]string{"x.proto": "syntax = \"proto3\";\npackage x;\nmessage M {}\nservice S {\n  rpc R(Missing) returns (M);\n}\n"})
	_, err := BuildRequest(context.Background(), []string{dir}, []string{"x.proto"}, "")
	require.Error(t, err)
	require.Contains(t, err.Error(), "x.proto:5:9:")
	require.Contains(t, err.Error(), "Missing")
}

func TestFilesMustBeInsideAnImportPath(t *testing.T) {
	dir := writeProto(t, map[string]string{"a/x.proto": "syntax = \"proto3\";\npackage x;\n"})
	_, err := BuildRequest(context.Background(), []string{filepath.Join(dir, "b")}, []string{filepath.Join(dir, "a/x.proto")}, "")
	require.ErrorContains(t, err, "does not reside within any import path")

	_, err = BuildRequest(context.Background(), []string{dir}, nil, "")
	require.ErrorContains(t, err, "no .proto files")

	_, err = BuildRequest(context.Background(), []string{dir}, []string{"nope.proto"}, "")
	require.ErrorContains(t, err, "nope.proto")
}

func TestDiskPathsAreMappedToImportNames(t *testing.T) {
	dir := writeProto(t, map[string]string{"a/x.proto": "syntax = \"proto3\";\npackage x;\noption go_package = \"example.com/x\";\n"})
	req, err := BuildRequest(context.Background(), []string{dir}, []string{filepath.Join(dir, "a/x.proto"), "a/x.proto"}, "")
	require.NoError(t, err)
	require.Equal(t, []string{"a/x.proto"}, req.GetFileToGenerate(), "a file named twice is generated once")
}

func TestDependenciesComeBeforeDependents(t *testing.T) {
	req, err := BuildRequest(context.Background(), []string{protoDir}, []string{"collide/collide.proto", "wkt/wkt.proto"}, "")
	require.NoError(t, err)
	pos := map[string]int{}
	for i, f := range req.GetProtoFile() {
		_, dup := pos[f.GetName()]
		require.False(t, dup, "%s listed twice", f.GetName())
		pos[f.GetName()] = i
		for _, dep := range f.GetDependency() {
			_, ok := pos[dep]
			require.True(t, ok, "%s listed before its import %s", f.GetName(), dep)
		}
	}
	require.Contains(t, pos, "google/protobuf/timestamp.proto", "well-known types resolve without protoc")
}

const header = "syntax = \"proto3\";\npackage p;\noption go_package = \"example.com/p;p\";\nmessage M {}\n"

func TestCollidingNamesAreErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"message named like the client": {
			header + "message GreeterClient {}\nservice Greeter { rpc Hi(M) returns (M); }\n",
			"generated identifier GreeterClient collides with message p.GreeterClient",
		},
		"two methods with one Go name": {
			header + "service S { rpc get_it(M) returns (M); rpc GetIt(M) returns (M); }\n",
			"methods get_it and GetIt both become the Go method GetIt",
		},
		"constant shared by two services": {
			header + "service A { rpc B_C(M) returns (M); }\nservice A_B { rpc C(M) returns (M); }\n",
			"generated identifier A_B_C_FullMethodName collides with service p.A",
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeProto(t, map[string]string{"p.proto": tc.src})
			req, err := BuildRequest(context.Background(), []string{dir}, []string{"p.proto"}, "")
			require.NoError(t, err)
			_, err = RunPlugins(req)
			require.ErrorContains(t, err, "--h2rpc_out: p.proto: ")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestServicesAcrossFilesOfOnePackageCannotClash(t *testing.T) {
	dir := writeProto(t, map[string]string{
		"a.proto": header + "service S { rpc X(M) returns (M); }\n",
		"b.proto": "syntax = \"proto3\";\npackage p;\noption go_package = \"example.com/p;p\";\nimport \"a.proto\";\nservice S2 { rpc X(M) returns (M); }\nservice s { rpc X(M) returns (M); }\n",
	})
	req, err := BuildRequest(context.Background(), []string{dir}, []string{"a.proto", "b.proto"}, "")
	require.NoError(t, err)
	_, err = RunPlugins(req)
	require.ErrorContains(t, err, "b.proto: service p.s: generated identifier NewSClient collides with service p.S")
}

func TestUnknownParameterIsAnError(t *testing.T) {
	req, err := BuildRequest(context.Background(), []string{protoDir}, []string{"kinds/kinds.proto"}, "paths=sideways")
	require.NoError(t, err)
	_, err = RunPlugins(req)
	require.ErrorContains(t, err, "sideways")

	req, err = BuildRequest(context.Background(), []string{protoDir}, []string{"kinds/kinds.proto"}, "bogus=1")
	require.NoError(t, err)
	_, err = runPlugin(req, PluginOptions(), Run)
	require.ErrorContains(t, err, `unknown parameter "bogus"`)

	req.Parameter = proto.String("experimental_strip_nonfunctional_codegen=true,paths=source_relative")
	_, err = RunPlugins(req)
	require.NoError(t, err, "protoc-gen-go's own parameter is accepted by both")
}

func TestWriteFilesStaysInsideOutDir(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"../escape.go", "/abs.go"} {
		err := WriteFiles(dir, []*pluginpb.CodeGeneratorResponse_File{{Name: &name, Content: new(string)}})
		require.ErrorContains(t, err, "escapes the output directory")
	}
	require.ErrorContains(t, WriteFiles("", nil), "no output directory")
	name, content := "a/b.go", "package b\n"
	require.NoError(t, WriteFiles(dir, []*pluginpb.CodeGeneratorResponse_File{{Name: &name, Content: &content}}))
	b, err := os.ReadFile(filepath.Join(dir, "a", "b.go"))
	require.NoError(t, err)
	require.Equal(t, content, string(b))
}

func TestGenerateCommand(t *testing.T) {
	var stderr bytes.Buffer
	err := GenerateCommand(context.Background(), []string{"-I", protoDir, "kinds/kinds.proto"}, &stderr)
	require.ErrorContains(t, err, "--out is required")
	require.Contains(t, stderr.String(), "usage: protoc-gen-h2rpc generate")

	err = GenerateCommand(context.Background(), []string{"--out", t.TempDir()}, &stderr)
	require.ErrorContains(t, err, "no .proto files")

	err = GenerateCommand(context.Background(), []string{"--bogus"}, &stderr)
	require.Error(t, err)

	out := t.TempDir()
	err = GenerateCommand(context.Background(), []string{"-I", protoDir, "--out", out,
		"--opt", "paths=source_relative", "--opt", "Mother/other.proto=example.com/gentest/stream;stream",
		filepath.Join(protoDir, "kinds/kinds.proto")}, &stderr)
	require.NoError(t, err)
	for _, f := range []string{"kinds/kinds.pb.go", "kinds/kinds_h2rpc.pb.go"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		require.Contains(t, string(b), "// Code generated by protoc-gen-", f)
	}
	// Nothing is written when generation fails.
	bad := writeProto(t, map[string]string{"p.proto": header + "message SClient {}\nservice S {}\n"})
	out2 := t.TempDir()
	err = GenerateCommand(context.Background(), []string{"-I", bad, "--out", out2, "p.proto"}, &stderr)
	require.Error(t, err)
	entries, err := os.ReadDir(out2)
	require.NoError(t, err)
	require.Empty(t, entries)
}
