package main

import (
	"bytes"
	"context"
	"testing"

	pb "github.com/h2rpc/h2rpc/proto/examples/routeguide"
	"github.com/stretchr/testify/require"
)

func TestDemoMakesAllFourKindsOfCalls(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runDemo(context.Background(), &out))
	require.Equal(t, `GetFeature (52.5163, 13.3777): Brandenburg Gate, Berlin
GetFeature (54.0000, 7.0000): nothing there
ListFeatures: Brandenburg Gate, Berlin at (52.5163, 13.3777)
ListFeatures: Reichstag, Berlin at (52.5186, 13.3762)
ListFeatures: Berlin Cathedral at (52.5191, 13.4010)
ListFeatures: Alexanderplatz TV tower, Berlin at (52.5208, 13.4094)
RecordRoute: 4 points, 3 features, 2209 m
RouteChat: got "first visit to the gate" left at (52.5163, 13.3777)
RouteChat: got "ciao from Rome" left at (41.8902, 12.4922)
`, out.String())
}

func TestDistance(t *testing.T) {
	berlin := &pb.Point{Latitude: e7(52.5163), Longitude: e7(13.3777)}
	paris := &pb.Point{Latitude: e7(48.8584), Longitude: e7(2.2945)}
	// About 878 km apart.
	require.InDelta(t, 878_000, distance(berlin, paris), 2_000)
	require.Zero(t, distance(berlin, berlin))
}

func TestInsideAcceptsCornersInAnyOrder(t *testing.T) {
	p := &pb.Point{Latitude: 5, Longitude: 5}
	require.True(t, inside(p, &pb.Rectangle{Lo: &pb.Point{Latitude: 10, Longitude: 10}, Hi: &pb.Point{}}))
	require.False(t, inside(&pb.Point{Latitude: 11, Longitude: 5}, &pb.Rectangle{Lo: &pb.Point{Latitude: 10, Longitude: 10}, Hi: &pb.Point{}}))
}
