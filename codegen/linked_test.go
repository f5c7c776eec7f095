package codegen

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// An import with no source on disk resolves from Linked, as a dependency
// that ships only as generated Go code (buf/validate/validate.proto) must.
func TestLinkedResolvesImportsWithoutSource(t *testing.T) {
	dir := writeProto(t, map[string]string{"uses/uses.proto": `syntax = "proto3";
package uses;
option go_package = "example.com/uses";
import "vendor/dep.proto";
message N { vendor.Dep d = 1; }
`})
	out := t.TempDir()
	opts := Options{ImportPaths: []string{dir}, OutDir: out, Params: "paths=source_relative", Files: []string{"uses/uses.proto"}}
	require.Error(t, Generate(context.Background(), opts), "no source and nothing linked")

	s := func(v string) *string { return &v }
	dep, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: s("vendor/dep.proto"), Package: s("vendor"), Syntax: s("proto3"),
		Options:     &descriptorpb.FileOptions{GoPackage: s("example.com/vendor/dep")},
		MessageType: []*descriptorpb.DescriptorProto{{Name: s("Dep")}},
	}, nil)
	require.NoError(t, err)
	linked := &protoregistry.Files{}
	require.NoError(t, linked.RegisterFile(dep))
	opts.Linked = linked
	require.NoError(t, Generate(context.Background(), opts))
	src, err := os.ReadFile(filepath.Join(out, "uses/uses.pb.go"))
	require.NoError(t, err)
	require.Contains(t, string(src), `"example.com/vendor/dep"`, "the linked file's Go package is imported")
}
