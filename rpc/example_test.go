package rpc_test

import (
	"context"
	"fmt"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// upper is a service written by hand the way generated code would be.
var upperDesc = rpc.ServiceDesc{
	ServiceName: "example.Upper",
	HandlerType: (*any)(nil),
	Methods: []rpc.MethodDesc{{
		MethodName: "Shout",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ rpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			if in.Value == "" {
				return nil, status.Error(codes.InvalidArgument, "nothing to shout")
			}
			caller := metadata.ValueFromIncomingContext(ctx, "caller")
			return wrapperspb.String(fmt.Sprintf("%s says %s!", caller[0], in.Value)), nil
		},
	}},
}

// Example serves a service over the in-memory transport and calls it.
func Example() {
	srv := rpc.NewServer()
	srv.RegisterService(&upperDesc, struct{}{})
	l := rpc.NewInMemoryListener()
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	ctx := metadata.AppendToOutgoingContext(context.Background(), "caller", "gopher")
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(ctx, "/example.Upper/Shout", wrapperspb.String("hello"), out); err != nil {
		panic(err)
	}
	fmt.Println(out.Value)

	err = cc.Invoke(ctx, "/example.Upper/Shout", wrapperspb.String(""), out)
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// gopher says hello!
	// InvalidArgument nothing to shout
}
