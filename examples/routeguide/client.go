package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pb "github.com/h2rpc/h2rpc/proto/examples/routeguide"
	"github.com/h2rpc/h2rpc/rpc"
)

// dial opens a plaintext client connection to addr. It is the one place that
// depends on how rpc creates clients.
func dial(addr string) (*rpc.ClientConn, error) {
	return rpc.NewClient(addr, rpc.WithInsecure())
}

// runClient makes one call of each kind and prints what comes back.
func runClient(ctx context.Context, addr string, out io.Writer) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := pb.NewRouteGuideClient(conn)
	return errors.Join(
		getFeatures(ctx, client, out),
		listFeatures(ctx, client, out),
		recordRoute(ctx, client, out),
		routeChat(ctx, client, out),
	)
}

func pointString(p *pb.Point) string {
	return fmt.Sprintf("(%.4f, %.4f)", float64(p.GetLatitude())/1e7, float64(p.GetLongitude())/1e7)
}

// getFeatures: unary calls, one on a landmark and one in the sea.
func getFeatures(ctx context.Context, client pb.RouteGuideClient, out io.Writer) error {
	for _, p := range []*pb.Point{features[0].GetLocation(), {Latitude: e7(54.0), Longitude: e7(7.0)}} {
		f, err := client.GetFeature(ctx, p)
		if err != nil {
			return fmt.Errorf("GetFeature: %w", err)
		}
		if f.GetName() == "" {
			fmt.Fprintf(out, "GetFeature %s: nothing there\n", pointString(p))
		} else {
			fmt.Fprintf(out, "GetFeature %s: %s\n", pointString(p), f.GetName())
		}
	}
	return nil
}

// listFeatures: a server stream of the features around central Berlin.
func listFeatures(ctx context.Context, client pb.RouteGuideClient, out io.Writer) error {
	rect := &pb.Rectangle{
		Lo: &pb.Point{Latitude: e7(52.50), Longitude: e7(13.30)},
		Hi: &pb.Point{Latitude: e7(52.53), Longitude: e7(13.42)},
	}
	stream, err := client.ListFeatures(ctx, rect)
	if err != nil {
		return fmt.Errorf("ListFeatures: %w", err)
	}
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ListFeatures: %w", err)
		}
		fmt.Fprintf(out, "ListFeatures: %s at %s\n", f.GetName(), pointString(f.GetLocation()))
	}
}

// recordRoute: a client stream of a walk past the Berlin landmarks.
func recordRoute(ctx context.Context, client pb.RouteGuideClient, out io.Writer) error {
	stream, err := client.RecordRoute(ctx)
	if err != nil {
		return fmt.Errorf("RecordRoute: %w", err)
	}
	route := []*pb.Point{
		features[0].GetLocation(),
		{Latitude: e7(52.5170), Longitude: e7(13.3880)},
		features[2].GetLocation(),
		features[3].GetLocation(),
	}
	for _, p := range route {
		if err := stream.Send(p); err != nil {
			return fmt.Errorf("RecordRoute send: %w", err)
		}
	}
	summary, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("RecordRoute: %w", err)
	}
	fmt.Fprintf(out, "RecordRoute: %d points, %d features, %d m\n",
		summary.GetPointCount(), summary.GetFeatureCount(), summary.GetDistance())
	return nil
}

// routeChat: a bidirectional stream; notes left at a place come back to
// whoever visits it next.
func routeChat(ctx context.Context, client pb.RouteGuideClient, out io.Writer) error {
	stream, err := client.RouteChat(ctx)
	if err != nil {
		return fmt.Errorf("RouteChat: %w", err)
	}
	gate, rome := features[0].GetLocation(), features[5].GetLocation()
	notes := []*pb.RouteNote{
		{Location: gate, Message: "first visit to the gate"},
		{Location: rome, Message: "ciao from Rome"},
		{Location: gate, Message: "back at the gate"},
		{Location: rome, Message: "Rome again"},
	}
	received := make(chan error, 1)
	go func() {
		for {
			note, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				received <- nil
				return
			}
			if err != nil {
				received <- err
				return
			}
			fmt.Fprintf(out, "RouteChat: got %q left at %s\n", note.GetMessage(), pointString(note.GetLocation()))
		}
	}()
	for _, n := range notes {
		if err := stream.Send(n); err != nil {
			return fmt.Errorf("RouteChat send: %w", err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("RouteChat: %w", err)
	}
	if err := <-received; err != nil {
		return fmt.Errorf("RouteChat: %w", err)
	}
	return nil
}
