package codegen

import (
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
)

// serviceGen writes the code for the services of one file.
type serviceGen struct {
	g    *protogen.GeneratedFile
	file *protogen.File
	// local renames a local variable away from imported package names.
	local func(string) string
}

const deprecationComment = "// Deprecated: Do not use."

// comment writes a doc comment: the generator's own first lines, then the
// comments from the .proto, then the deprecation notice, each paragraph
// separated as godoc expects.
func (s *serviceGen) comment(own []string, leading protogen.Comments, deprecated bool) {
	g := s.g
	for _, l := range own {
		g.P("// ", l)
	}
	wrote := len(own) > 0
	if leading != "" {
		if wrote {
			g.P("//")
		}
		g.P(trimNL(leading.String()))
		wrote = true
	}
	if deprecated {
		if wrote {
			g.P("//")
		}
		g.P(deprecationComment)
	}
}

func trimNL(s string) string {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		return s[:n-1]
	}
	return s
}

func (s *serviceGen) generate(svc *protogen.Service) {
	g := s.g
	name := svc.GoName
	deprecated := isDeprecatedService(svc)

	if len(svc.Methods) > 0 {
		g.P("const (")
		for _, m := range svc.Methods {
			g.P(fullMethodConst(svc, m), " = ", strconv.Quote("/"+string(svc.Desc.FullName())+"/"+string(m.Desc.Name())))
		}
		g.P(")")
		g.P()
	}

	s.clientInterface(svc, deprecated)
	s.clientImpl(svc, deprecated)
	s.serverInterface(svc, deprecated)
	s.unimplemented(svc)

	if deprecated {
		g.P("// Register", name, "Server registers srv with s.")
		g.P("//")
		g.P(deprecationComment)
	} else {
		g.P("// Register", name, "Server registers srv with s, which is usually an *rpc.Server.")
	}
	g.P("func Register", name, "Server(s ", rpcPackage.Ident("ServiceRegistrar"), ", srv ", name, "Server) {")
	g.P("s.RegisterService(&", name, "_ServiceDesc, srv)")
	g.P("}")
	g.P()

	for _, m := range svc.Methods {
		s.handler(svc, m)
	}
	s.serviceDesc(svc)
}

func (s *serviceGen) clientInterface(svc *protogen.Service, deprecated bool) {
	g := s.g
	name := svc.GoName
	s.comment([]string{
		name + "Client is the client API for the " + string(svc.Desc.FullName()) + " service.",
		"",
		"Cancelling ctx ends a call; a streaming call also ends when the stream",
		"has been read to io.EOF or has returned an error.",
	}, svc.Comments.Leading, deprecated)
	g.P("type ", name, "Client interface {")
	for _, m := range svc.Methods {
		s.comment(nil, m.Comments.Leading, isDeprecatedMethod(m))
		g.P(s.clientSignature(m))
	}
	g.P("}")
	g.P()
}

func (s *serviceGen) clientSignature(m *protogen.Method) string {
	g := s.g
	in := g.QualifiedGoIdent(m.Input.GoIdent)
	out := g.QualifiedGoIdent(m.Output.GoIdent)
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))
	opt := g.QualifiedGoIdent(rpcPackage.Ident("CallOption"))
	params := s.local("ctx") + " " + ctx
	if !m.Desc.IsStreamingClient() {
		params += ", " + s.local("in") + " *" + in
	}
	params += ", " + s.local("opts") + " ..." + opt
	result := "*" + out
	if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
		result = s.streamType(m, "Client")
	}
	return m.GoName + "(" + params + ") (" + result + ", error)"
}

func (s *serviceGen) clientImpl(svc *protogen.Service, deprecated bool) {
	g := s.g
	name := svc.GoName
	impl := unexport(name) + "Client"
	g.P("type ", impl, " struct {")
	g.P("cc ", rpcPackage.Ident("ClientConnInterface"))
	g.P("}")
	g.P()
	s.comment([]string{"New" + name + "Client returns a client that makes its calls over cc, usually an *rpc.ClientConn."}, "", deprecated)
	g.P("func New", name, "Client(cc ", rpcPackage.Ident("ClientConnInterface"), ") ", name, "Client {")
	g.P("return &", impl, "{cc}")
	g.P("}")
	g.P()

	c, ctx, in, opts := s.local("c"), s.local("ctx"), s.local("in"), s.local("opts")
	out, err, stream, x := s.local("out"), s.local("err"), s.local("stream"), s.local("x")
	streamIndex := 0
	for _, m := range svc.Methods {
		if isDeprecatedMethod(m) {
			g.P(deprecationComment)
		}
		g.P("func (", c, " *", impl, ") ", s.clientSignature(m), " {")
		if !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer() {
			g.P(out, " := new(", m.Output.GoIdent, ")")
			callOpts := opts + "..."
			if lvl := idempotency(m); lvl != "" {
				// The client learns the method's level from the stub: a
				// Connect client may then call a side-effect-free
				// method with GET (rpc.WithHTTPGet).
				callOpts = "append([]" + g.QualifiedGoIdent(rpcPackage.Ident("CallOption")) + "{" +
					g.QualifiedGoIdent(rpcPackage.Ident("MethodIdempotency")) + "(" + g.QualifiedGoIdent(rpcPackage.Ident(lvl)) + ")}, " + opts + "...)..."
			}
			g.P("if ", err, " := ", c, ".cc.Invoke(", ctx, ", ", fullMethodConst(svc, m), ", ", in, ", ", out, ", ", callOpts, "); ", err, " != nil {")
			g.P("return nil, ", err)
			g.P("}")
			g.P("return ", out, ", nil")
			g.P("}")
			g.P()
			continue
		}
		g.P(stream, ", ", err, " := ", c, ".cc.NewStream(", ctx, ", &", name, "_ServiceDesc.Streams[", streamIndex, "], ",
			fullMethodConst(svc, m), ", ", opts, "...)")
		streamIndex++
		g.P("if ", err, " != nil {")
		g.P("return nil, ", err)
		g.P("}")
		g.P(x, " := &", rpcPackage.Ident("GenericClientStream"), "[", m.Input.GoIdent, ", ", m.Output.GoIdent, "]{ClientStream: ", stream, "}")
		if !m.Desc.IsStreamingClient() {
			// One request, then half-close: the server sees a complete
			// request before it starts streaming back.
			g.P("if ", err, " := ", x, ".ClientStream.SendMsg(", in, "); ", err, " != nil {")
			g.P("return nil, ", err)
			g.P("}")
			g.P("if ", err, " := ", x, ".ClientStream.CloseSend(); ", err, " != nil {")
			g.P("return nil, ", err)
			g.P("}")
		}
		g.P("return ", x, ", nil")
		g.P("}")
		g.P()
		s.streamAlias(svc, m, "Client")
	}
}

// streamAlias keeps the per-method stream type names protoc-gen-go-grpc
// users refer to (Svc_MethodClient, Svc_MethodServer), so that migrating
// code that names them is still a rename.
func (s *serviceGen) streamAlias(svc *protogen.Service, m *protogen.Method, side string) {
	g := s.g
	alias := svc.GoName + "_" + m.GoName + side
	g.P("// ", alias, " is the stream type of ", m.GoName, " on the ", lower(side), " side, kept as an alias")
	g.P("// for code written against protoc-gen-go-grpc.")
	g.P("type ", alias, " = ", s.streamType(m, side))
	g.P()
}

func lower(s string) string { return unexport(s) }

func (s *serviceGen) streamType(m *protogen.Method, side string) string {
	g := s.g
	in := g.QualifiedGoIdent(m.Input.GoIdent)
	out := g.QualifiedGoIdent(m.Output.GoIdent)
	var kind, args string
	switch {
	case !m.Desc.IsStreamingClient():
		kind, args = "ServerStreaming", out
	case !m.Desc.IsStreamingServer():
		kind, args = "ClientStreaming", in+", "+out
	default:
		kind, args = "BidiStreaming", in+", "+out
	}
	return g.QualifiedGoIdent(rpcPackage.Ident(kind+side)) + "[" + args + "]"
}

func (s *serviceGen) serverSignature(m *protogen.Method) string {
	g := s.g
	in := g.QualifiedGoIdent(m.Input.GoIdent)
	out := g.QualifiedGoIdent(m.Output.GoIdent)
	switch {
	case !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer():
		return m.GoName + "(" + g.QualifiedGoIdent(contextPackage.Ident("Context")) + ", *" + in + ") (*" + out + ", error)"
	case !m.Desc.IsStreamingClient():
		return m.GoName + "(*" + in + ", " + s.streamType(m, "Server") + ") error"
	default:
		return m.GoName + "(" + s.streamType(m, "Server") + ") error"
	}
}

func (s *serviceGen) serverInterface(svc *protogen.Service, deprecated bool) {
	g := s.g
	name := svc.GoName
	s.comment([]string{
		name + "Server is the server API for the " + string(svc.Desc.FullName()) + " service.",
		"Embed Unimplemented" + name + "Server by value in an implementation to keep it",
		"compiling when methods are added to the service.",
	}, svc.Comments.Leading, deprecated)
	g.P("type ", name, "Server interface {")
	for _, m := range svc.Methods {
		s.comment(nil, m.Comments.Leading, isDeprecatedMethod(m))
		g.P(s.serverSignature(m))
	}
	g.P("}")
	g.P()
}

func (s *serviceGen) unimplemented(svc *protogen.Service) {
	g := s.g
	name := svc.GoName
	g.P("// Unimplemented", name, "Server answers every method with codes.Unimplemented.")
	g.P("// Embed it by value; a zero value is ready to use.")
	g.P("type Unimplemented", name, "Server struct{}")
	g.P()
	for _, m := range svc.Methods {
		g.P("func (Unimplemented", name, "Server) ", s.serverSignature(m), " {")
		ret := ""
		if !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer() {
			ret = "nil, "
		}
		g.P("return ", ret, statusPackage.Ident("Error"), "(", codesPackage.Ident("Unimplemented"), ", ",
			strconv.Quote("method "+m.GoName+" not implemented"), ")")
		g.P("}")
		g.P()
	}
}

func (s *serviceGen) handler(svc *protogen.Service, m *protogen.Method) {
	g := s.g
	srvIface := svc.GoName + "Server"
	srv, stream := s.local("srv"), s.local("stream")
	if !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer() {
		ctx, dec, icpt := s.local("ctx"), s.local("dec"), s.local("interceptor")
		in, err, info, handler, req := s.local("in"), s.local("err"), s.local("info"), s.local("handler"), s.local("req")
		g.P("func ", handlerName(svc, m), "(", srv, " any, ", ctx, " ", contextPackage.Ident("Context"), ", ", dec,
			" func(any) error, ", icpt, " ", rpcPackage.Ident("UnaryServerInterceptor"), ") (any, error) {")
		g.P(in, " := new(", m.Input.GoIdent, ")")
		g.P("if ", err, " := ", dec, "(", in, "); ", err, " != nil {")
		g.P("return nil, ", err)
		g.P("}")
		g.P("if ", icpt, " == nil {")
		g.P("return ", srv, ".(", srvIface, ").", m.GoName, "(", ctx, ", ", in, ")")
		g.P("}")
		g.P(info, " := &", rpcPackage.Ident("UnaryServerInfo"), "{")
		g.P("Server: ", srv, ",")
		g.P("FullMethod: ", fullMethodConst(svc, m), ",")
		g.P("}")
		g.P(handler, " := func(", ctx, " ", contextPackage.Ident("Context"), ", ", req, " any) (any, error) {")
		g.P("return ", srv, ".(", srvIface, ").", m.GoName, "(", ctx, ", ", req, ".(*", m.Input.GoIdent, "))")
		g.P("}")
		g.P("return ", icpt, "(", ctx, ", ", in, ", ", info, ", ", handler, ")")
		g.P("}")
		g.P()
		return
	}
	g.P("func ", handlerName(svc, m), "(", srv, " any, ", stream, " ", rpcPackage.Ident("ServerStream"), ") error {")
	wrapped := []any{"&", rpcPackage.Ident("GenericServerStream"), "[", m.Input.GoIdent, ", ", m.Output.GoIdent, "]{ServerStream: ", stream, "}"}
	if !m.Desc.IsStreamingClient() {
		msg, err := s.local("m"), s.local("err")
		g.P(msg, " := new(", m.Input.GoIdent, ")")
		g.P("if ", err, " := ", stream, ".RecvMsg(", msg, "); ", err, " != nil {")
		g.P("return ", err)
		g.P("}")
		g.P(append([]any{"return ", srv, ".(", srvIface, ").", m.GoName, "(", msg, ", "}, append(wrapped, ")")...)...)
	} else {
		g.P(append([]any{"return ", srv, ".(", srvIface, ").", m.GoName, "("}, append(wrapped, ")")...)...)
	}
	g.P("}")
	g.P()
	s.streamAlias(svc, m, "Server")
}

func (s *serviceGen) serviceDesc(svc *protogen.Service) {
	g := s.g
	name := svc.GoName
	g.P("// ", name, "_ServiceDesc describes the ", svc.Desc.FullName(), " service for rpc.Server")
	g.P("// and for the streams of ", name, "Client. Use it through Register", name, "Server and")
	g.P("// New", name, "Client rather than changing it.")
	g.P("var ", name, "_ServiceDesc = ", rpcPackage.Ident("ServiceDesc"), "{")
	g.P("ServiceName: ", strconv.Quote(string(svc.Desc.FullName())), ",")
	g.P("HandlerType: (*", name, "Server)(nil),")
	g.P("Methods: []", rpcPackage.Ident("MethodDesc"), "{")
	for _, m := range svc.Methods {
		if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
			continue
		}
		g.P("{")
		g.P("MethodName: ", strconv.Quote(string(m.Desc.Name())), ",")
		g.P("Handler: ", handlerName(svc, m), ",")
		if lvl := idempotency(m); lvl != "" {
			g.P("Idempotency: ", rpcPackage.Ident(lvl), ",")
		}
		g.P("},")
	}
	g.P("},")
	g.P("Streams: []", rpcPackage.Ident("StreamDesc"), "{")
	for _, m := range svc.Methods {
		if !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer() {
			continue
		}
		g.P("{")
		g.P("StreamName: ", strconv.Quote(string(m.Desc.Name())), ",")
		g.P("Handler: ", handlerName(svc, m), ",")
		if m.Desc.IsStreamingServer() {
			g.P("ServerStreams: true,")
		}
		if m.Desc.IsStreamingClient() {
			g.P("ClientStreams: true,")
		}
		g.P("},")
	}
	g.P("},")
	g.P("Metadata: ", strconv.Quote(s.file.Desc.Path()), ",")
	g.P("}")
}

// idempotency names the rpc constant for a method's idempotency_level
// option, or "" for the default (unknown), so that stubs of ordinary
// methods stay as they were.
func idempotency(m *protogen.Method) string {
	opts, ok := m.Desc.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil {
		return ""
	}
	switch opts.GetIdempotencyLevel() {
	case descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
		return "NoSideEffects"
	case descriptorpb.MethodOptions_IDEMPOTENT:
		return "Idempotent"
	}
	return ""
}
