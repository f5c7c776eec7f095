package codegen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoProtoDir is where the repository keeps its .proto files and the Go
// generated from them (see proto/generate.go).
const repoProtoDir = "../proto"

// TestCommittedCodeIsFresh fails when the generated Go under proto/ differs
// from what "go generate ./proto/..." would write now: a .proto edited
// without regenerating, a generator change not applied, or a new .proto
// missing from the go:generate line.
func TestCommittedCodeIsFresh(t *testing.T) {
	out := generate(t, repoProtoDir, protoFiles(t, repoProtoDir), "paths=source_relative")
	want := map[string]bool{}
	for _, f := range out {
		path := filepath.Join(repoProtoDir, filepath.FromSlash(f.GetName()))
		want[path] = true
		b, err := os.ReadFile(path)
		require.NoError(t, err, "run go generate ./proto/...")
		if string(b) != f.GetContent() {
			t.Errorf("%s is stale; run go generate ./proto/...", path)
		}
	}
	// Generated files whose .proto is gone are stale too.
	err := filepath.WalkDir(repoProtoDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pb.go") {
			return err
		}
		if !want[path] {
			t.Errorf("%s is not generated from any .proto any more; delete it", path)
		}
		return nil
	})
	require.NoError(t, err)

	// The go:generate line must name every .proto, or go generate would
	// leave the new one out.
	directive, err := os.ReadFile(filepath.Join(repoProtoDir, "generate.go"))
	require.NoError(t, err)
	for _, f := range protoFiles(t, repoProtoDir) {
		require.Contains(t, string(directive), " "+f, "proto/generate.go does not generate %s", f)
	}
}
