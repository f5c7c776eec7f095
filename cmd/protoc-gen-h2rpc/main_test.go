package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/codegen"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// build compiles this command once per test into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "protoc-gen-h2rpc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func TestCommandLine(t *testing.T) {
	bin := build(t)

	out, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	require.Equal(t, "protoc-gen-h2rpc v"+codegen.Version+"\n", string(out))

	out, err = exec.Command(bin, "--help").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "protoc-gen-h2rpc generate -I DIR")

	t.Run("plugin over stdin", func(t *testing.T) {
		// What protoc does: a CodeGeneratorRequest in, a response out.
		req, err := codegen.BuildRequest(context.Background(), []string{"../../codegen/testdata/protos"},
			[]string{"kinds/kinds.proto"}, "paths=source_relative")
		require.NoError(t, err)
		in, err := proto.Marshal(req)
		require.NoError(t, err)
		cmd := exec.Command(bin)
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		require.NoError(t, err)
		var resp pluginpb.CodeGeneratorResponse
		require.NoError(t, proto.Unmarshal(out, &resp))
		require.Empty(t, resp.GetError())
		require.Equal(t, uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL|pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS),
			resp.GetSupportedFeatures())
		require.Len(t, resp.GetFile(), 1)
		require.Equal(t, "kinds/kinds_h2rpc.pb.go", resp.GetFile()[0].GetName())
		golden, err := os.ReadFile("../../codegen/testdata/golden/kinds/kinds_h2rpc.pb.go.golden")
		require.NoError(t, err)
		require.Equal(t, string(golden), resp.GetFile()[0].GetContent())
	})

	t.Run("generate reports errors with positions", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.proto"), []byte("syntax = \"proto3\";\nmessage {\n"), 0o644))
		cmd := exec.Command(bin, "generate", "-I", dir, "--out", t.TempDir(), "bad.proto")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		require.Error(t, err)
		require.True(t, strings.HasPrefix(stderr.String(), "protoc-gen-h2rpc: bad.proto:2:9: "), stderr.String())
	})

	t.Run("generate writes both files", func(t *testing.T) {
		out := t.TempDir()
		cmd := exec.Command(bin, "generate", "-I", "../../codegen/testdata/protos", "--out", out,
			"--opt", "paths=source_relative", "wkt/wkt.proto")
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", msg)
		for _, f := range []string{"wkt/wkt.pb.go", "wkt/wkt_h2rpc.pb.go"} {
			_, err := os.Stat(filepath.Join(out, f))
			require.NoError(t, err)
		}
	})

	t.Run("unknown argument", func(t *testing.T) {
		err := exec.Command(bin, "frobnicate").Run()
		require.Error(t, err)
	})
}
