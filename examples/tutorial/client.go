package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	echopb "github.com/h2rpc/h2rpc/proto/examples/echo"
)

// talk makes one call of each shape and writes what came back to out.
func talk(ctx context.Context, c echopb.EchoClient, out io.Writer) error {
	// Unary.
	r, err := c.Say(ctx, &echopb.SayRequest{Text: "hello"})
	if err != nil {
		return fmt.Errorf("Say: %w", err)
	}
	fmt.Fprintln(out, "Say:", r.GetText())

	// Server streaming: read until io.EOF, which means the call ended with OK.
	counts, err := c.Count(ctx, &echopb.CountRequest{N: 3})
	if err != nil {
		return fmt.Errorf("Count: %w", err)
	}
	for {
		m, err := counts.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("Count: %w", err)
		}
		fmt.Fprintln(out, "Count:", m.GetNumber())
	}

	// Bidirectional streaming: send, close our side, then read the rest.
	chat, err := c.Chat(ctx)
	if err != nil {
		return fmt.Errorf("Chat: %w", err)
	}
	for _, text := range []string{"one", "two"} {
		if err := chat.Send(&echopb.SayRequest{Text: text}); err != nil {
			return fmt.Errorf("Chat send: %w", err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		return fmt.Errorf("Chat close: %w", err)
	}
	for {
		m, err := chat.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("Chat: %w", err)
		}
		fmt.Fprintln(out, "Chat:", m.GetText())
	}
}
