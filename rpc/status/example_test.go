package status_test

import (
	"fmt"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A handler attaches typed details to an error; the client reads them back
// after the status has crossed the wire in grpc-status-details-bin.
func ExampleStatus_WithDetails() {
	st, err := status.New(codes.Unavailable, "overloaded, try again").
		WithDetails(durationpb.New(1500_000_000), wrapperspb.String("shard-7"))
	if err != nil {
		panic(err)
	}
	callErr := st.Err() // what the handler returns

	// On the client:
	got := status.Convert(callErr)
	fmt.Println(got.Code(), got.Message())
	for _, d := range got.Details() {
		switch d := d.(type) {
		case *durationpb.Duration:
			fmt.Println("retry after", d.AsDuration())
		case *wrapperspb.StringValue:
			fmt.Println("from", d.GetValue())
		}
	}
	// Output:
	// Unavailable overloaded, try again
	// retry after 1.5s
	// from shard-7
}

// Code looks through wrapping, so errors decorated on the way up keep their code.
func ExampleCode() {
	err := fmt.Errorf("loading profile: %w", status.Error(codes.NotFound, "no such user"))
	fmt.Println(status.Code(err))
	// Output: NotFound
}
