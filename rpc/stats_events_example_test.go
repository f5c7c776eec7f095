package rpc_test

import (
	"context"
	"fmt"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// stepPrinter is a client stats handler that wants every step of a call:
// it implements rpc.RPCEventHandler besides rpc.StatsHandler.
type stepPrinter struct{}

func (stepPrinter) TagRPC(ctx context.Context, _ string) context.Context { return ctx }

func (stepPrinter) HandleRPCEvent(_ context.Context, ev rpc.RPCEvent) {
	switch ev.Kind {
	case rpc.EventOutPayload, rpc.EventInPayload:
		fmt.Printf("%s: %d bytes, %d on the wire\n", ev.Kind, ev.Length, ev.WireLength)
	case rpc.EventInTrailer:
		fmt.Printf("%s: %s\n", ev.Kind, ev.Code)
	default:
		fmt.Println(ev.Kind)
	}
}

func (stepPrinter) HandleRPC(_ context.Context, s *rpc.RPCStats) {
	fmt.Printf("end: %s %s\n", s.FullMethod, s.Code)
}

// A stats handler that implements rpc.RPCEventHandler sees each step of a
// call, with the messages' sizes before compression and on the wire.
func ExampleRPCEventHandler() {
	srv := rpc.NewServer()
	srv.RegisterService(&upperDesc, struct{}{})
	l := rpc.NewInMemoryListener()
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	cc, err := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial), rpc.WithStatsHandler(stepPrinter{}))
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	ctx := metadata.AppendToOutgoingContext(context.Background(), "caller", "ann")
	if err := cc.Invoke(ctx, "/example.Upper/Shout", wrapperspb.String("hi"), new(wrapperspb.StringValue)); err != nil {
		panic(err)
	}
	// Output:
	// Begin
	// OutHeader
	// OutPayload: 4 bytes, 9 on the wire
	// InHeader
	// InPayload: 14 bytes, 19 on the wire
	// InTrailer: OK
	// end: /example.Upper/Shout OK
}
