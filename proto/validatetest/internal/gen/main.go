// Command gen generates validatetest's Go code with h2rpc's protoc-free
// generator, resolving buf/validate/validate.proto from the descriptor its
// Go package registers. go generate runs it in proto/validatetest.
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
