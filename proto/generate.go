package proto

//go:generate go run ../cmd/protoc-gen-h2rpc generate -I . --out . --opt paths=source_relative google/rpc/status.proto grpc/testing/empty.proto grpc/testing/messages.proto grpc/testing/test.proto grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto grpc/reflection/v1alpha/reflection.proto examples/helloworld/helloworld.proto examples/routeguide/route_guide.proto examples/echo/echo.proto etcd/mvccpb/kv.proto etcd/etcdserverpb/rpc.proto
