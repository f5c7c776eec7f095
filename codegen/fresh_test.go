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
	files := repoProtoFiles(t)
	out := generate(t, repoProtoDir, files, "paths=source_relative")
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
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pb.go") || hasOwnGenerator(t, filepath.Dir(path)) {
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
	for _, f := range files {
		require.Contains(t, string(directive), " "+f, "proto/generate.go does not generate %s", f)
	}
}

// repoProtoFiles are the .proto files under proto/ that proto/generate.go
// generates: all but those in a directory with a go:generate directive of
// its own (proto/validatetest links buf/validate/validate.proto, which has
// no source to compile from). go generate ./proto/... runs those too, and
// codegen/check-generated.sh, in CI, compares their output with git.
func repoProtoFiles(t *testing.T) []string {
	var out []string
	for _, f := range protoFiles(t, repoProtoDir) {
		if !hasOwnGenerator(t, filepath.Join(repoProtoDir, filepath.Dir(f))) {
			out = append(out, f)
		}
	}
	return out
}

// hasOwnGenerator reports whether dir, below proto/, holds a Go file with
// a go:generate directive.
func hasOwnGenerator(t *testing.T, dir string) bool {
	if filepath.Clean(dir) == filepath.Clean(repoProtoDir) {
		return false
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		if strings.Contains(string(b), "\n//go:generate ") {
			return true
		}
	}
	return false
}
