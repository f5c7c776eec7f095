package auth

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// TokenSource returns the credential to attach to a call, e.g. a fresh
// OAuth access token.
type TokenSource func(ctx context.Context) (string, error)

// StaticToken is a TokenSource that always returns tok.
func StaticToken(tok string) TokenSource {
	return func(context.Context) (string, error) { return tok, nil }
}

func attach(ctx context.Context, key, prefix string, src TokenSource) (context.Context, error) {
	tok, err := src(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "auth: getting credentials: %v", err)
	}
	return metadata.AppendToOutgoingContext(ctx, key, prefix+tok), nil
}

// BearerUnaryClientInterceptor sends "authorization: Bearer <token>" on
// every unary call. Use it only over TLS: the token travels in clear on h2c.
func BearerUnaryClientInterceptor(src TokenSource) rpc.UnaryClientInterceptor {
	return headerUnary("authorization", "Bearer ", src)
}

// BearerStreamClientInterceptor is BearerUnaryClientInterceptor for streams.
func BearerStreamClientInterceptor(src TokenSource) rpc.StreamClientInterceptor {
	return headerStream("authorization", "Bearer ", src)
}

// APIKeyUnaryClientInterceptor sends the key in header (e.g. "x-api-key").
func APIKeyUnaryClientInterceptor(header string, src TokenSource) rpc.UnaryClientInterceptor {
	return headerUnary(header, "", src)
}

// APIKeyStreamClientInterceptor is APIKeyUnaryClientInterceptor for streams.
func APIKeyStreamClientInterceptor(header string, src TokenSource) rpc.StreamClientInterceptor {
	return headerStream(header, "", src)
}

func headerUnary(key, prefix string, src TokenSource) rpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, invoker rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		ctx, err := attach(ctx, key, prefix, src)
		if err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func headerStream(key, prefix string, src TokenSource) rpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
		ctx, err := attach(ctx, key, prefix, src)
		if err != nil {
			return nil, err
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}
