package coexist

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	genstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestBothLinkedStartWithoutConflictSetting runs this test binary again with
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT removed from the environment: had
// init panicked on a duplicate registration, the child would fail.
func TestBothLinkedStartWithoutConflictSetting(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOLANG_PROTOBUF_REGISTRATION_CONFLICT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestChild")
	require.NotContains(t, string(out), "already registered")
}

// TestChild uses both libraries' status types; in a plain run it checks the
// same things under whatever environment the test has.
func TestChild(t *testing.T) {
	require.NotNil(t, grpc.NewServer) // grpc-go is linked
	require.NotNil(t, rpc.NewServer)  // and h2rpc
	// The two encodings of google.rpc.Status agree: grpc-go's (genproto)
	// decodes what rpc/status encodes, and back.
	st, err := status.New(codes.NotFound, "gone").WithDetails(wrapperspb.String("why"))
	require.NoError(t, err)
	b, err := st.Proto().Marshal()
	require.NoError(t, err)
	var gp genstatus.Status
	require.NoError(t, proto.Unmarshal(b, &gp))
	gs := grpcstatus.FromProto(&gp)
	require.Equal(t, "gone", gs.Message())
	require.Len(t, gs.Details(), 1)
	require.True(t, proto.Equal(wrapperspb.String("why"), gs.Details()[0].(proto.Message)))

	b2, err := proto.Marshal(gs.Proto())
	require.NoError(t, err)
	var p status.Proto
	require.NoError(t, p.Unmarshal(b2))
	require.Equal(t, codes.NotFound, status.FromProto(&p).Code())
	require.Len(t, status.FromProto(&p).Details(), 1)
}
