package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// Unary calls canceled while in flight, from several goroutines: the cancel
// watcher of a pooled call state may still run when its call returns, so that
// state must not be recycled (clientStream.recycle), or the watcher would
// reset another call's stream and race its reset (the race detector reports
// it). Every call ends OK with its own answer or CANCELED, and the client
// keeps working.
func TestUnaryCanceledInFlightKeepsPooledStateApart(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				ctx, cancel := context.WithCancel(context.Background())
				stopped := make(chan struct{})
				go func() {
					defer close(stopped)
					time.Sleep(time.Duration((g*150+i)%40) * time.Microsecond)
					cancel()
				}()
				want := string(rune('a' + i%26))
				got, err := e.echo(ctx, want)
				<-stopped
				if err != nil {
					require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
					continue
				}
				require.Equal(t, want, got)
			}
		}()
	}
	wg.Wait()
	got, err := e.echo(ctxTimeout(t, 10*time.Second), "after")
	require.NoError(t, err)
	require.Equal(t, "after", got)
}
