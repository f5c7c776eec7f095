package codegen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Options configures Generate, the protoc-free mode.
type Options struct {
	// ImportPaths are the directories .proto imports are resolved against,
	// like protoc's -I. Empty means the current directory.
	ImportPaths []string
	// OutDir is where generated files are written, like --go_out=DIR.
	OutDir string
	// Params are the plugin parameters ("paths=source_relative,M...")
	// passed to both generators, like --go_opt and --h2rpc_opt.
	Params string
	// Files are the .proto files to generate code for, either paths on disk
	// inside one of ImportPaths or names relative to one of them.
	Files []string
	// Linked resolves imports that have no source in ImportPaths from
	// descriptors already compiled, such as the files a Go program links
	// (protoregistry.GlobalFiles): protoc's --descriptor_set_in for
	// dependencies that ship as generated Go code only, like
	// buf/validate/validate.proto.
	Linked interface {
		FindFileByPath(path string) (protoreflect.FileDescriptor, error)
	}
}

// Generate compiles opts.Files in-process and writes what protoc would with
// --go_out and --h2rpc_out: protoc-gen-go's .pb.go files and our
// _h2rpc.pb.go files. Nothing is written unless everything succeeds.
func Generate(ctx context.Context, opts Options) error {
	req, err := buildRequest(ctx, opts.ImportPaths, opts.Files, opts.Params, opts.Linked)
	if err != nil {
		return err
	}
	files, err := RunPlugins(req)
	if err != nil {
		return err
	}
	return WriteFiles(opts.OutDir, files)
}

// BuildRequest compiles files with protocompile (the well-known types are
// built in) and builds the CodeGeneratorRequest protoc would send a plugin.
// Errors in the sources are reported as file:line:column: message.
func BuildRequest(ctx context.Context, importPaths, files []string, params string) (*pluginpb.CodeGeneratorRequest, error) {
	return buildRequest(ctx, importPaths, files, params, nil)
}

func buildRequest(ctx context.Context, importPaths, files []string, params string, linked interface {
	FindFileByPath(string) (protoreflect.FileDescriptor, error)
}) (*pluginpb.CodeGeneratorRequest, error) {
	if len(files) == 0 {
		return nil, errors.New("no .proto files given")
	}
	if len(importPaths) == 0 {
		importPaths = []string{"."}
	}
	names := make([]string, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		name, err := protoName(importPaths, f)
		if err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}

	var errs []error
	rep := reporter.NewReporter(func(err reporter.ErrorWithPos) error {
		errs = append(errs, err)
		return nil // keep going to report every error, as protoc does
	}, nil)
	var resolver protocompile.Resolver = protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: importPaths})
	if linked != nil {
		resolver = protocompile.CompositeResolver{resolver, protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			fd, err := linked.FindFileByPath(path)
			if err != nil {
				return protocompile.SearchResult{}, err
			}
			return protocompile.SearchResult{Desc: fd}, nil
		})}
	}
	comp := protocompile.Compiler{
		Resolver:       resolver,
		SourceInfoMode: protocompile.SourceInfoStandard,
		Reporter:       rep,
	}
	compiled, err := comp.Compile(ctx, names...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err != nil {
		return nil, err
	}

	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: names}
	if params != "" {
		req.Parameter = &params
	}
	// protoc lists every file once, each after the files it imports.
	added := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if added[fd.Path()] {
			return
		}
		added[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, fileProto(fd))
	}
	for _, f := range compiled {
		add(f)
	}
	return req, nil
}

func fileProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	for {
		if r, ok := fd.(linker.Result); ok {
			// Carries the source info that comments in generated code need.
			return r.FileDescriptorProto()
		}
		u, ok := fd.(interface {
			Unwrap() protoreflect.FileDescriptor
		})
		if !ok || u.Unwrap() == fd {
			return protodesc.ToFileDescriptorProto(fd)
		}
		fd = u.Unwrap()
	}
}

// protoName maps a command-line file to its name relative to an import path,
// the way protoc does: a path on disk must lie inside one of them.
func protoName(importPaths []string, file string) (string, error) {
	if _, err := os.Stat(file); err != nil {
		// Not on disk as given: a name to look up in the import paths.
		return filepath.ToSlash(filepath.Clean(file)), nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	for _, dir := range importPaths {
		d, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(d, abs)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel), nil
		}
	}
	return "", fmt.Errorf("%s: file does not reside within any import path (-I %s)", file, strings.Join(importPaths, ", -I "))
}

// RunPlugins runs protoc-gen-go's generator and ours on req, each with its
// own view of the request as separate plugin processes would have, and
// returns all generated files.
func RunPlugins(req *pluginpb.CodeGeneratorRequest) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	goResp, err := runPlugin(req, goPluginOptions(), func(gen *protogen.Plugin) error {
		for _, f := range gen.Files {
			if f.Generate {
				gengo.GenerateFile(gen, f)
			}
		}
		gen.SupportedFeatures = gengo.SupportedFeatures
		gen.SupportedEditionsMinimum = gengo.SupportedEditionsMinimum
		gen.SupportedEditionsMaximum = gengo.SupportedEditionsMaximum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--go_out: %w", err)
	}
	ours, err := runPlugin(req, PluginOptions(), Run)
	if err != nil {
		return nil, fmt.Errorf("--h2rpc_out: %w", err)
	}
	return append(goResp.File, ours.File...), nil
}

// goPluginOptions accepts the parameters protoc-gen-go's main accepts.
func goPluginOptions() protogen.Options {
	var flags flag.FlagSet
	plugins := flags.String("plugins", "", "deprecated option")
	strip := flags.Bool("experimental_strip_nonfunctional_codegen", false, "")
	return protogen.Options{
		ParamFunc: func(name, value string) error {
			if err := flags.Set(name, value); err != nil {
				return err
			}
			if *plugins != "" {
				return errors.New("plugins are not supported")
			}
			return nil
		},
		InternalStripForEditionsDiff: strip,
	}
}

func runPlugin(req *pluginpb.CodeGeneratorRequest, opts protogen.Options, run func(*protogen.Plugin) error) (*pluginpb.CodeGeneratorResponse, error) {
	gen, err := opts.New(req)
	if err != nil {
		return nil, err
	}
	if err := run(gen); err != nil {
		gen.Error(err)
	}
	resp := gen.Response()
	if resp.Error != nil {
		return nil, errors.New(resp.GetError())
	}
	if err := checkEditions(req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkEditions refuses files whose edition the plugin does not declare,
// as protoc does after reading the plugin's response.
func checkEditions(req *pluginpb.CodeGeneratorRequest, resp *pluginpb.CodeGeneratorResponse) error {
	gen := map[string]bool{}
	for _, n := range req.GetFileToGenerate() {
		gen[n] = true
	}
	for _, f := range req.GetProtoFile() {
		if !gen[f.GetName()] || f.GetSyntax() != "editions" {
			continue
		}
		e := int32(f.GetEdition())
		if e < resp.GetMinimumEdition() || e > resp.GetMaximumEdition() {
			return fmt.Errorf("%s: edition %v is not supported by this generator", f.GetName(), f.GetEdition())
		}
	}
	return nil
}

// WriteFiles writes generated files under dir, creating directories.
func WriteFiles(dir string, files []*pluginpb.CodeGeneratorResponse_File) error {
	if dir == "" {
		return errors.New("no output directory given")
	}
	for _, f := range files {
		name := filepath.FromSlash(f.GetName())
		if filepath.IsAbs(name) || !filepath.IsLocal(name) {
			return fmt.Errorf("generated file name %q escapes the output directory", f.GetName())
		}
		if f.GetInsertionPoint() != "" {
			return fmt.Errorf("%s: insertion points are not supported", f.GetName())
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
