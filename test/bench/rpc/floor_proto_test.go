package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// TestProtoFloorReportsTheServersFailure: a floor whose server fails says
// why, not only that its connection ended.
func TestProtoFloorReportsTheServersFailure(t *testing.T) {
	errBad := errors.New("bad message")
	serve := func(c *protoConn) error {
		if err := c.recv(&testpb.SimpleRequest{}); err != nil {
			return err
		}
		return errBad
	}
	e := &env{tm: timing{0, 50 * time.Millisecond}}
	_, err := runProtoFloor(context.Background(), e, 2, serve, func(c *protoConn) error {
		if err := c.send(unaryReq(10)); err != nil {
			return err
		}
		return c.recv(&testpb.SimpleResponse{})
	})
	require.ErrorIs(t, err, errBad)
}
