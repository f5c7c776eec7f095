package main

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	pb "github.com/h2rpc/h2rpc/proto/examples/routeguide"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/proto"
)

// e7 converts degrees to the E7 integers Point uses.
func e7(deg float64) int32 { return int32(math.Round(deg * 1e7)) }

// features is the server's small map: a few landmarks, made up for the demo
// from public coordinates.
var features = []*pb.Feature{
	{Name: "Brandenburg Gate, Berlin", Location: &pb.Point{Latitude: e7(52.5163), Longitude: e7(13.3777)}},
	{Name: "Reichstag, Berlin", Location: &pb.Point{Latitude: e7(52.5186), Longitude: e7(13.3762)}},
	{Name: "Berlin Cathedral", Location: &pb.Point{Latitude: e7(52.5191), Longitude: e7(13.4010)}},
	{Name: "Alexanderplatz TV tower, Berlin", Location: &pb.Point{Latitude: e7(52.5208), Longitude: e7(13.4094)}},
	{Name: "Eiffel Tower, Paris", Location: &pb.Point{Latitude: e7(48.8584), Longitude: e7(2.2945)}},
	{Name: "Colosseum, Rome", Location: &pb.Point{Latitude: e7(41.8902), Longitude: e7(12.4922)}},
}

// routeGuide implements pb.RouteGuideServer.
type routeGuide struct {
	pb.UnimplementedRouteGuideServer

	mu    sync.Mutex
	notes map[string][]*pb.RouteNote // by location
}

func newRouteGuide() *routeGuide {
	return &routeGuide{notes: map[string][]*pb.RouteNote{}}
}

func featureAt(p *pb.Point) *pb.Feature {
	for _, f := range features {
		if proto.Equal(f.GetLocation(), p) {
			return f
		}
	}
	return nil
}

// GetFeature returns the feature at a point, or an unnamed feature there.
func (*routeGuide) GetFeature(_ context.Context, p *pb.Point) (*pb.Feature, error) {
	if p == nil {
		return nil, status.Error(codes.InvalidArgument, "no point given")
	}
	if f := featureAt(p); f != nil {
		return f, nil
	}
	return &pb.Feature{Location: p}, nil
}

func inside(p *pb.Point, r *pb.Rectangle) bool {
	left := min(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	right := max(r.GetLo().GetLongitude(), r.GetHi().GetLongitude())
	bottom := min(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	top := max(r.GetLo().GetLatitude(), r.GetHi().GetLatitude())
	return p.GetLongitude() >= left && p.GetLongitude() <= right &&
		p.GetLatitude() >= bottom && p.GetLatitude() <= top
}

// ListFeatures streams the features inside the rectangle.
func (*routeGuide) ListFeatures(r *pb.Rectangle, stream rpc.ServerStreamingServer[pb.Feature]) error {
	for _, f := range features {
		if !inside(f.GetLocation(), r) {
			continue
		}
		if err := stream.Send(f); err != nil {
			return err
		}
	}
	return nil
}

// RecordRoute reads points until the client is done, then summarizes them.
func (*routeGuide) RecordRoute(stream rpc.ClientStreamingServer[pb.Point, pb.RouteSummary]) error {
	var summary pb.RouteSummary
	var last *pb.Point
	start := time.Now()
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			summary.ElapsedTime = int32(time.Since(start).Seconds())
			return stream.SendAndClose(&summary)
		}
		if err != nil {
			return err
		}
		summary.PointCount++
		if featureAt(p) != nil {
			summary.FeatureCount++
		}
		if last != nil {
			summary.Distance += int32(distance(last, p))
		}
		last = p
	}
}

// RouteChat answers each note with the notes left earlier at its location,
// then keeps it for later callers.
func (s *routeGuide) RouteChat(stream rpc.BidiStreamingServer[pb.RouteNote, pb.RouteNote]) error {
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		key := in.GetLocation().String()
		s.mu.Lock()
		earlier := append([]*pb.RouteNote(nil), s.notes[key]...)
		s.notes[key] = append(s.notes[key], in)
		s.mu.Unlock()
		for _, note := range earlier {
			if err := stream.Send(note); err != nil {
				return err
			}
		}
	}
}

// distance is the great-circle distance between two points in metres
// (haversine formula on a spherical earth).
func distance(a, b *pb.Point) float64 {
	const earthRadius = 6371000.0
	rad := func(e7 int32) float64 { return float64(e7) / 1e7 * math.Pi / 180 }
	lat1, lat2 := rad(a.GetLatitude()), rad(b.GetLatitude())
	dLat, dLon := lat2-lat1, rad(b.GetLongitude())-rad(a.GetLongitude())
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Sqrt(h))
}
