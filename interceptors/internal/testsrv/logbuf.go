package testsrv

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
)

// LogBuffer collects JSON slog records from the server's goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// NewLogger returns a JSON logger at lvl that writes to a new LogBuffer.
func NewLogger(lvl slog.Level) (*slog.Logger, *LogBuffer) {
	b := &LogBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: lvl})), b
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Records decodes each line as a JSON object; a line that is not one
// comes back as {"undecodable": line} so a test sees it.
func (l *LogBuffer) Records() []map[string]any {
	var out []map[string]any
	for _, line := range bytes.Split([]byte(l.String()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal(line, &m); err != nil {
			m = map[string]any{"undecodable": string(line)}
		}
		out = append(out, m)
	}
	return out
}
