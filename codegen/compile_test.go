package codegen

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testModule = "example.com/gentest"

// The one line allowed to differ between protoc and the protoc-free mode.
var protocVersionLine = regexp.MustCompile(`(?m)^// (\t?)(- )?protoc +.*$`)

// TestBothModesAgreeAndCompile generates the tricky test protos without
// protoc and, when protoc is installed, through protoc with both plugin
// binaries; the outputs must agree byte for byte but for the protoc version
// line. Then the output is built and vetted as a module against this
// repository's rpc package.
func TestBothModesAgreeAndCompile(t *testing.T) {
	files := protoFiles(t, protoDir)
	params := "module=" + testModule
	free := t.TempDir()
	req, err := BuildRequest(context.Background(), []string{protoDir}, files, params)
	require.NoError(t, err)
	out, err := RunPlugins(req)
	require.NoError(t, err)
	require.NoError(t, WriteFiles(free, out))

	t.Run("protoc", func(t *testing.T) {
		protoc, err := exec.LookPath("protoc")
		if err != nil {
			t.Skip("protoc is not installed (Debian: apt-get install protobuf-compiler); CI installs it")
		}
		viaProtoc := t.TempDir()
		bin := t.TempDir()
		goTool(t, "", "build", "-o", filepath.Join(bin, "protoc-gen-go"), "google.golang.org/protobuf/cmd/protoc-gen-go")
		goTool(t, "", "build", "-o", filepath.Join(bin, "protoc-gen-h2rpc"), "github.com/h2rpc/h2rpc/cmd/protoc-gen-h2rpc")
		protocFiles := files
		if !protocSupportsEditions(t, protoc) {
			protocFiles = nil
			for _, f := range files {
				if !strings.HasPrefix(f, "editions/") {
					protocFiles = append(protocFiles, f)
				}
			}
			require.NoError(t, os.RemoveAll(filepath.Join(free, "editions")), "compared only what protoc can compile")
		}
		args := []string{"-I", protoDir,
			"--plugin=protoc-gen-go=" + filepath.Join(bin, "protoc-gen-go"),
			"--plugin=protoc-gen-h2rpc=" + filepath.Join(bin, "protoc-gen-h2rpc"),
			"--go_out=" + viaProtoc, "--go_opt=" + params,
			"--h2rpc_out=" + viaProtoc, "--h2rpc_opt=" + params}
		cmd := exec.Command(protoc, append(args, protocFiles...)...)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "protoc: %s", msg)
		a, b := readTree(t, free), readTree(t, viaProtoc)
		require.Equal(t, keys(a), keys(b), "both modes write the same files")
		for name, content := range a {
			require.Equal(t, normalize(content), normalize(b[name]), "%s differs between protoc and the protoc-free mode", name)
		}
	})

	t.Run("compile", func(t *testing.T) {
		// The editions output may have been dropped above; regenerate it all.
		require.NoError(t, WriteFiles(free, out))
		root, err := filepath.Abs("..")
		require.NoError(t, err)
		gomod := "module " + testModule + "\n\ngo 1.26\n\nrequire (\n\tgithub.com/h2rpc/h2rpc v0.0.0\n\tgoogle.golang.org/protobuf v1.36.12\n)\n\nreplace github.com/h2rpc/h2rpc => " + root + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(free, "go.mod"), []byte(gomod), 0o644))
		sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(free, "go.sum"), sum, 0o644))
		// Compile-time checks and tests of what the generated code does,
		// against fakes of the connection and streams.
		for _, f := range []string{"check.go", "semantics_test.go"} {
			b, err := os.ReadFile(filepath.Join("testdata", "gentest", f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(free, f), b, 0o644))
		}
		goTool(t, free, "build", "./...")
		goTool(t, free, "vet", "./...")
		goTool(t, free, "test", "./...")
	})
}

func protocSupportsEditions(t *testing.T, protoc string) bool {
	v, err := exec.Command(protoc, "--version").Output()
	require.NoError(t, err)
	// "libprotoc 3.21.12" (no editions) or "libprotoc 27.0" and later.
	fields := strings.Fields(string(v))
	require.NotEmpty(t, fields)
	major, err := strconv.Atoi(strings.SplitN(fields[len(fields)-1], ".", 2)[0])
	require.NoError(t, err)
	return major >= 27
}

func goTool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	require.NoError(t, cmd.Run(), "go %s:\n%s", strings.Join(args, " "), buf.String())
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	require.NoError(t, err)
	return files
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func normalize(s string) string {
	return protocVersionLine.ReplaceAllString(s, "// protoc VERSION")
}
