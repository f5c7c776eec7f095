package h2

import (
	"context"
	"errors"
	"sync"
)

// UpdateSettings changes the settings of every session the server runs and
// of those it will accept (Node's server.updateSettings): each open session
// sends them (Session.UpdateSettings) and UpdateSettings waits for all the
// acks, or ctx. What set gives replaces the current value; what it does
// not give stays. Sessions that end meanwhile are no error.
func (srv *Server) UpdateSettings(ctx context.Context, set Settings) error {
	srv.mu.Lock()
	next := srv.Options.Settings.withDefaults().merged(srv.updated).merged(set)
	if err := next.Validate(); err != nil {
		srv.mu.Unlock()
		return err
	}
	srv.updated = srv.updated.merged(set)
	srv.shared = nil // new sessions take the new settings
	sessions := make([]*Session, 0, len(srv.sessions))
	for s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(sessions))
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.UpdateSettings(ctx, set); err != nil && !errors.Is(err, ErrSessionClosed) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sessionOptions are the options of a new session: Options, normalized,
// with the settings UpdateSettings changed since. Sessions share one copy,
// made for the first of them and again after UpdateSettings: a copy in each
// Session was 384 bytes of every idle connection. Sessions only read it.
func (srv *Server) sessionOptions() *Options {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shared == nil {
		o := srv.Options
		o.Settings = o.Settings.withDefaults().merged(srv.updated)
		o = o.normalized()
		srv.shared = &o
	}
	return srv.shared
}
