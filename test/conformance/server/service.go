package main

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	v1 "github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// conformanceServer answers as each request's response definition says,
// echoing what it received (docs/testing_servers.md of the suite).
// Unimplemented is left to the embedded default, as the suite asks.
type conformanceServer struct {
	v1.UnimplementedConformanceServiceServer
}

func (s *conformanceServer) Unary(ctx context.Context, req *v1.UnaryRequest) (*v1.UnaryResponse, error) {
	payload, err := unary(ctx, req.GetResponseDefinition(), []proto.Message{req})
	if err != nil {
		return nil, err
	}
	return &v1.UnaryResponse{Payload: payload}, nil
}

func (s *conformanceServer) IdempotentUnary(ctx context.Context, req *v1.IdempotentUnaryRequest) (*v1.IdempotentUnaryResponse, error) {
	payload, err := unary(ctx, req.GetResponseDefinition(), []proto.Message{req})
	if err != nil {
		return nil, err
	}
	return &v1.IdempotentUnaryResponse{Payload: payload}, nil
}

func (s *conformanceServer) ClientStream(stream rpc.ClientStreamingServer[v1.ClientStreamRequest, v1.ClientStreamResponse]) error {
	var reqs []proto.Message
	var def *v1.UnaryResponseDefinition
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(reqs) == 0 {
			def = req.GetResponseDefinition()
		}
		reqs = append(reqs, req)
	}
	payload, err := unary(stream.Context(), def, reqs)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&v1.ClientStreamResponse{Payload: payload})
}

func (s *conformanceServer) ServerStream(req *v1.ServerStreamRequest, stream rpc.ServerStreamingServer[v1.ServerStreamResponse]) error {
	ctx := stream.Context()
	def := req.GetResponseDefinition()
	info, err := requestInfo(ctx, []proto.Message{req})
	if err != nil {
		return err
	}
	if def != nil {
		if err := setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers()); err != nil {
			return err
		}
		if err := stream.SendHeader(nil); err != nil {
			return err
		}
	}
	sent := 0
	for _, data := range def.GetResponseData() {
		resp := &v1.ServerStreamResponse{Payload: &v1.ConformancePayload{Data: data}}
		if sent == 0 {
			resp.Payload.RequestInfo = info
		}
		if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
		sent++
	}
	if e := def.GetError(); e != nil {
		if sent == 0 {
			return errorWith(e, info)
		}
		return errorWith(e, nil)
	}
	return nil
}

func (s *conformanceServer) BidiStream(stream rpc.BidiStreamingServer[v1.BidiStreamRequest, v1.BidiStreamResponse]) error {
	ctx := stream.Context()
	var def *v1.StreamResponseDefinition
	var reqs []proto.Message
	fullDuplex := false
	received, sent := 0, 0
	var firstInfo *v1.ConformancePayload_RequestInfo
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		received++
		if received == 1 {
			def = req.GetResponseDefinition()
			fullDuplex = req.GetFullDuplex()
			if def != nil {
				if err := setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers()); err != nil {
					return err
				}
				if fullDuplex {
					if err := stream.SendHeader(nil); err != nil {
						return err
					}
				}
			}
		}
		reqs = append(reqs, req)
		if !fullDuplex {
			continue
		}
		// Full duplex: one response per request, as long as there is data.
		if sent >= len(def.GetResponseData()) {
			if e := def.GetError(); e != nil {
				info, ierr := requestInfo(ctx, reqs)
				if ierr != nil {
					return ierr
				}
				if sent > 0 {
					info = nil
				}
				return errorWith(e, info)
			}
			continue
		}
		info, err := requestInfo(ctx, reqs)
		if err != nil {
			return err
		}
		if sent > 0 {
			info = &v1.ConformancePayload_RequestInfo{Requests: info.GetRequests()[len(info.GetRequests())-1:]}
		}
		reqs = reqs[:0]
		if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(&v1.BidiStreamResponse{Payload: &v1.ConformancePayload{Data: def.GetResponseData()[sent], RequestInfo: info}}); err != nil {
			return err
		}
		sent++
	}
	if fullDuplex {
		if e := def.GetError(); e != nil {
			if sent == 0 {
				info, err := requestInfo(ctx, reqs)
				if err != nil {
					return err
				}
				return errorWith(e, info)
			}
			return errorWith(e, nil)
		}
		return nil
	}
	// Half duplex: everything read, now the responses.
	info, err := requestInfo(ctx, reqs)
	if err != nil {
		return err
	}
	firstInfo = info
	for _, data := range def.GetResponseData() {
		resp := &v1.BidiStreamResponse{Payload: &v1.ConformancePayload{Data: data}}
		if sent == 0 {
			resp.Payload.RequestInfo = firstInfo
		}
		if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
			return err
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
		sent++
	}
	if e := def.GetError(); e != nil {
		if sent == 0 {
			return errorWith(e, firstInfo)
		}
		return errorWith(e, nil)
	}
	return nil
}

// unary answers a call with one response: its payload, or the error the
// definition names (with the request info as a detail).
func unary(ctx context.Context, def *v1.UnaryResponseDefinition, reqs []proto.Message) (*v1.ConformancePayload, error) {
	info, err := requestInfo(ctx, reqs)
	if err != nil {
		return nil, err
	}
	if err := setMetadata(ctx, def.GetResponseHeaders(), def.GetResponseTrailers()); err != nil {
		return nil, err
	}
	if err := sleep(ctx, def.GetResponseDelayMs()); err != nil {
		return nil, err
	}
	if e := def.GetError(); e != nil {
		return nil, errorWith(e, info)
	}
	return &v1.ConformancePayload{Data: def.GetResponseData(), RequestInfo: info}, nil
}

// requestInfo is what the call received: headers, timeout, the requests
// and, for GET, the query.
func requestInfo(ctx context.Context, reqs []proto.Message) (*v1.ConformancePayload_RequestInfo, error) {
	info := &v1.ConformancePayload_RequestInfo{}
	md, _ := metadata.FromIncomingContext(ctx)
	info.RequestHeaders = headers(md)
	if dl, ok := ctx.Deadline(); ok {
		ms := time.Until(dl).Milliseconds()
		info.TimeoutMs = &ms
	}
	for _, r := range reqs {
		a, err := anypb.New(r)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "packing the request: %v", err)
		}
		info.Requests = append(info.Requests, a)
	}
	if ri, ok := rpc.RequestInfoFromContext(ctx); ok && ri.Query != nil {
		info.ConnectGetInfo = &v1.ConformancePayload_ConnectGetInfo{QueryParams: headers(metadata.MD(ri.Query))}
	}
	return info, nil
}

func headers(md map[string][]string) []*v1.Header {
	names := make([]string, 0, len(md))
	for k := range md {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]*v1.Header, 0, len(names))
	for _, k := range names {
		out = append(out, &v1.Header{Name: k, Value: md[k]})
	}
	return out
}

// setMetadata sets the response's header and trailer metadata.
func setMetadata(ctx context.Context, hdr, trailer []*v1.Header) error {
	if md := toMD(hdr); md != nil {
		if err := rpc.SetHeader(ctx, md); err != nil {
			return err
		}
	}
	if md := toMD(trailer); md != nil {
		return rpc.SetTrailer(ctx, md)
	}
	return nil
}

func toMD(hs []*v1.Header) metadata.MD {
	if len(hs) == 0 {
		return nil
	}
	md := metadata.MD{}
	for _, h := range hs {
		k := strings.ToLower(h.GetName())
		md[k] = append(md[k], h.GetValue()...)
	}
	return md
}

// errorWith is the definition's error, with the request info first among
// its details when given.
func errorWith(e *v1.Error, info *v1.ConformancePayload_RequestInfo) error {
	p := &status.Proto{Code: int32(e.GetCode()), Message: e.GetMessage()}
	if info != nil {
		a, err := anypb.New(info)
		if err != nil {
			return status.Errorf(codes.Internal, "packing the request info: %v", err)
		}
		p.Details = append(p.Details, a)
	}
	p.Details = append(p.Details, e.GetDetails()...)
	return status.FromProto(p).Err()
}

func sleep(ctx context.Context, ms uint32) error {
	if ms == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
