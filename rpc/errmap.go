package rpc

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/h2rpc/h2rpc/h2"
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
	// Context errors are not mapped here: a transport failure that wraps
	// one (a timed-out ping, say) is not the call's deadline. Callers check
	// the call's own context first.
	return transportStatus(err)
}

// transportStatus maps a transport failure per the gRPC spec's table of
// RST_STREAM codes; session failures and anything else are UNAVAILABLE.
func transportStatus(err error) error {
	if errors.Is(err, h2.ErrConnectionLost) {
		// Before the deadline check: a connection whose write timed out is
		// lost, the call's own deadline has nothing to do with it.
		return status.Error(codes.Unavailable, "rpc: transport: "+err.Error())
	}
	var se *h2.StreamError
	if errors.As(err, &se) {
		return status.Error(resetCode(se.Code), "rpc: stream reset: "+err.Error())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unavailable, "rpc: transport: "+err.Error())
}

// resetCode maps an RST_STREAM error code to a status code.
func resetCode(c h2.ErrCode) codes.Code {
	switch c {
	case h2.ErrCodeRefusedStream:
		return codes.Unavailable
	case h2.ErrCodeCancel:
		return codes.Canceled
	case h2.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case h2.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Internal
}

// deadlineOverCanceled says DEADLINE_EXCEEDED for a call that ended
// CANCELED once its deadline had passed, unless the caller canceled it
// first. The peer sees our deadline as the stream reset with CANCEL or the
// connection closed, and may answer CANCELED to that; our own timer may
// fire a moment after that answer arrives, and net/http's transport even
// returns a response that raced the request's context ending. As in
// grpc-go, the passed deadline is the better explanation.
func deadlineOverCanceled(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	// The deadline first: every call ends here, and most have none or
	// ended before it.
	if dl, ok := ctx.Deadline(); !ok || dl.After(time.Now()) {
		return err
	}
	if status.Code(err) != codes.Canceled || errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
}
