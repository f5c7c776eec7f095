package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// peerEnv, set in a child's environment, makes rpcbench (or its test
// binary) serve the named stack for an idle-connections case instead of
// running anything else (runPeerIfAsked).
const peerEnv = "RPCBENCH_MEMORY_PEER"

// peer is a stack's server in a child process: the server ends of the
// idle-connections cases live there, so that each process holds one
// descriptor per connection (10,000 connections with both ends in one
// process need more than the 20,000 open files this VM's hard limit allows,
// and only privilege raises a hard limit). The case adds the peer's
// figures to its own: a connection is still counted with both of its ends.
type peer struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string
}

// startPeer starts this same program as a child serving the named stack on
// loopback (without TLS) and waits for its address.
func startPeer(stackName string) (*peer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("memory peer: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), peerEnv+"="+stackName)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("memory peer: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("memory peer: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("memory peer: %w", err)
	}
	p := &peer{cmd: cmd, in: in, out: bufio.NewReader(out)}
	addr, err := p.out.ReadString('\n')
	if err != nil {
		return nil, errors.Join(fmt.Errorf("memory peer: reading its address: %w", err), p.Close())
	}
	p.addr = strings.TrimSpace(addr)
	return p, nil
}

// footprint asks the peer for its own footprint (measureFootprint there).
func (p *peer) footprint() (footprint, error) {
	if _, err := fmt.Fprintln(p.in, "measure"); err != nil {
		return footprint{}, fmt.Errorf("memory peer: %w", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return footprint{}, fmt.Errorf("memory peer: reading its footprint: %w", err)
	}
	var f footprint
	if _, err := fmt.Sscan(line, &f.live, &f.rss); err != nil {
		return footprint{}, fmt.Errorf("memory peer: footprint %q: %w", line, err)
	}
	return f, nil
}

// bothFootprints is this process's footprint plus the peer's.
func (p *peer) bothFootprints() (footprint, error) {
	ours, err := measureFootprint()
	if err != nil {
		return footprint{}, err
	}
	theirs, err := p.footprint()
	if err != nil {
		return footprint{}, err
	}
	return footprint{live: ours.live + theirs.live, rss: ours.rss + theirs.rss}, nil
}

// Close ends the peer's input, on which it stops its server and exits, and
// waits for it.
func (p *peer) Close() error {
	_ = p.in.Close()
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("memory peer: %w", err)
	}
	return nil
}

// runPeerIfAsked serves as a memory peer and exits when peerEnv is set;
// main and TestMain call it first.
func runPeerIfAsked() {
	name := os.Getenv(peerEnv)
	if name == "" {
		return
	}
	if err := servePeer(name, os.Stdin, os.Stdout); err != nil {
		fatal(err)
	}
	os.Exit(0)
}

// servePeer serves the named stack, writes its address to out, answers each
// line read from in with its footprint once its goroutines have settled
// (live bytes and resident set, space-separated), and stops its server at
// the end of in.
func servePeer(name string, in io.Reader, out io.Writer) error {
	st, ok := stackByName(name)
	if !ok {
		return fmt.Errorf("memory peer: unknown stack %q", name)
	}
	srv, err := st.serve(nil)
	if err != nil {
		return fmt.Errorf("memory peer: %w", err)
	}
	defer srv.Stop()
	if _, err := fmt.Fprintln(out, srv.Addr()); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		settle()
		f, err := measureFootprint()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(out, f.live, f.rss); err != nil {
			return err
		}
	}
	return sc.Err()
}
