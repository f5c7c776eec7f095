package main

import (
	"context"
	"fmt"
	"os"

	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate" // registers buf/validate/validate.proto
	"github.com/h2rpc/h2rpc/codegen"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func main() {
	err := codegen.Generate(context.Background(), codegen.Options{
		ImportPaths: []string{".."},
		OutDir:      "..",
		Params:      "paths=source_relative",
		Files:       []string{"validatetest/validatetest.proto"},
		Linked:      protoregistry.GlobalFiles,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
