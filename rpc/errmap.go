package rpc

import (
	"context"
	"errors"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// toStatusError maps an error from the layers below to a status error, so
// that callers only ever see status errors. Errors that already carry a
// status pass through unchanged.
func toStatusError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return transportStatus(err)
}

// transportStatus maps a transport failure: the connection or stream broke,
// which gRPC reports as UNAVAILABLE unless the h2 error says otherwise.
func transportStatus(err error) error {
	return status.Error(codes.Unavailable, "rpc: transport: "+err.Error())
}
