package codegen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// GenerateUsage documents the protoc-free command line.
const GenerateUsage = `usage: protoc-gen-h2rpc generate -I DIR [-I DIR ...] --out DIR [--opt PARAMS] FILE.proto ...

Compiles the .proto files in-process (no protoc needed; the well-known types
are built in) and writes both protoc-gen-go's .pb.go files and the
_h2rpc.pb.go stubs, exactly as
  protoc -I DIR --go_out=DIR --go_opt=PARAMS --h2rpc_out=DIR --h2rpc_opt=PARAMS FILE.proto
would. PARAMS are the usual plugin parameters, e.g. paths=source_relative.
`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// GenerateCommand runs "protoc-gen-h2rpc generate ARGS...". Usage and flag
// errors go to stderr.
func GenerateCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, GenerateUsage) }
	var opts Options
	var imports multiFlag
	var params multiFlag
	fs.Var(&imports, "I", "import path (repeatable)")
	fs.Var(&imports, "proto_path", "same as -I")
	fs.StringVar(&opts.OutDir, "out", "", "output directory")
	fs.Var(&params, "opt", "plugin parameters (repeatable; joined with commas)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.ImportPaths = imports
	opts.Params = strings.Join(params, ",")
	opts.Files = fs.Args()
	if opts.OutDir == "" {
		fs.Usage()
		return errors.New("--out is required")
	}
	if len(opts.Files) == 0 {
		fs.Usage()
		return errors.New("no .proto files given")
	}
	return Generate(ctx, opts)
}
