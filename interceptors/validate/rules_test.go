package validate_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"buf.build/go/protovalidate"
	"github.com/h2rpc/h2rpc/interceptors/validate"
	pb "github.com/h2rpc/h2rpc/proto/validatetest"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// signup echoes users and counts the calls that reached it.
type signup struct {
	pb.UnimplementedSignupServer
	calls atomic.Int32
}

func (s *signup) Register(_ context.Context, u *pb.User) (*pb.User, error) {
	s.calls.Add(1)
	return u, nil
}

func (s *signup) RegisterMany(stream pb.Signup_RegisterManyServer) error {
	s.calls.Add(1)
	for {
		u, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(u); err != nil {
			return err
		}
	}
}

func startSignup(t *testing.T, sopts []rpc.ServerOption, dopts ...rpc.DialOption) (pb.SignupClient, *signup) {
	t.Helper()
	svc := &signup{}
	srv := rpc.NewServer(sopts...)
	pb.RegisterSignupServer(srv, svc)
	l := rpc.NewInMemoryListener()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	cc, err := rpc.NewClient("inmem", append([]rpc.DialOption{rpc.WithInsecure(), rpc.WithContextDialer(l.Dial)}, dopts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		<-done
	})
	return pb.NewSignupClient(cc), svc
}

var (
	goodUser = &pb.User{Email: "ada@example.com", Name: "Ada", Age: 36}
	badUser  = &pb.User{Email: "not an address", Name: "", Age: 7}
)

// violations returns the BadRequest field violations of err, by field.
func violations(t *testing.T, err error) map[string]*errdetails.BadRequest_FieldViolation {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%v", err)
	out := map[string]*errdetails.BadRequest_FieldViolation{}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		require.True(t, ok, "detail %T", d)
		for _, fv := range br.GetFieldViolations() {
			out[fv.GetField()] = fv
		}
	}
	return out
}

func TestRulesRejectOnTheServer(t *testing.T) {
	c, svc := startSignup(t, []rpc.ServerOption{rpc.UnaryInterceptor(validate.UnaryServerInterceptor())})
	u, err := c.Register(context.Background(), goodUser)
	require.NoError(t, err)
	require.Equal(t, "Ada", u.GetName())

	_, err = c.Register(context.Background(), badUser)
	got := violations(t, err)
	require.Len(t, got, 3, "%v", err)
	require.Equal(t, "string.email", got["email"].GetReason())
	require.Equal(t, "string.min_len", got["name"].GetReason())
	require.Equal(t, "uint32.gte_lte", got["age"].GetReason())
	require.NotEmpty(t, got["age"].GetDescription())
	require.Equal(t, int32(1), svc.calls.Load(), "the handler never saw the bad user")
}

func TestRulesRejectAStreamedMessage(t *testing.T) {
	c, _ := startSignup(t, []rpc.ServerOption{rpc.StreamInterceptor(validate.StreamServerInterceptor())})
	s, err := c.RegisterMany(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.Send(goodUser))
	u, err := s.Recv()
	require.NoError(t, err)
	require.Equal(t, "Ada", u.GetName())
	require.NoError(t, s.Send(&pb.User{Email: "ada@example.com", Name: "Ada", Age: 200}))
	_, err = s.Recv()
	got := violations(t, err)
	require.Len(t, got, 1)
	require.Contains(t, got, "age")
}

func TestRulesRejectOnTheClientBeforeSending(t *testing.T) {
	c, svc := startSignup(t, nil,
		rpc.WithUnaryInterceptor(validate.UnaryClientInterceptor()),
		rpc.WithStreamInterceptor(validate.StreamClientInterceptor()))
	_, err := c.Register(context.Background(), badUser)
	require.Len(t, violations(t, err), 3)
	s, err := c.RegisterMany(context.Background())
	require.NoError(t, err)
	require.Len(t, violations(t, s.Send(badUser)), 3, "SendMsg refuses it")
	require.NoError(t, s.Send(goodUser), "the stream stays usable")
	_, err = s.Recv()
	require.NoError(t, err)
	require.NoError(t, s.CloseSend())
	_, err = s.Recv()
	require.Equal(t, io.EOF, err)
	require.Equal(t, int32(1), svc.calls.Load(), "only the stream reached the server")
}

func TestWithValidator(t *testing.T) {
	v, err := protovalidate.New(protovalidate.WithFailFast())
	require.NoError(t, err)
	err = validate.NewChecker(validate.WithValidator(v)).Check(badUser)
	require.Len(t, violations(t, err), 1, "fail fast stops at the first broken rule")
}

// userWithMethod has rules and a Validate method: the method runs only
// once the rules pass.
type userWithMethod struct{ *pb.User }

func (u userWithMethod) Validate() error {
	if u.GetName() == "root" {
		return errors.New("name is reserved")
	}
	return nil
}

func TestValidateMethodRunsAfterTheRules(t *testing.T) {
	require.NoError(t, validate.Check(userWithMethod{goodUser}))
	err := validate.Check(userWithMethod{&pb.User{Email: "root@example.com", Name: "root", Age: 40}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "name is reserved", status.Convert(err).Message())
	require.Len(t, violations(t, validate.Check(userWithMethod{badUser})), 3, "rules first")
}
