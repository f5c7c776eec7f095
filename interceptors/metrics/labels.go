package metrics

import (
	"strconv"
	"sync"

	"github.com/h2rpc/h2rpc/interceptors/internal/callinfo"
	"github.com/h2rpc/h2rpc/rpc/codes"
)

// labels are one method's label values and series keys, built once so
// that recording a call builds no strings.
type labels struct {
	msgKey    string
	msgValues []string
	mu        sync.Mutex
	byCode    map[codes.Code]codeLabels
}

type codeLabels struct {
	key    string
	values []string
}

// labelCache maps a full method name to its labels. Method names come
// from registered services on the server and from the application's
// calls on the client, so the cache stays as small as the API.
type labelCache struct{ m sync.Map }

func (c *labelCache) get(fullMethod string) *labels {
	if l, ok := c.m.Load(fullMethod); ok {
		return l.(*labels)
	}
	svc, m := callinfo.Split(fullMethod)
	l := &labels{msgKey: svc + "\xff" + m, msgValues: []string{"grpc", svc, m}, byCode: map[codes.Code]codeLabels{}}
	actual, _ := c.m.LoadOrStore(fullMethod, l)
	return actual.(*labels)
}

func (l *labels) forCode(c codes.Code) codeLabels {
	l.mu.Lock()
	defer l.mu.Unlock()
	cl, ok := l.byCode[c]
	if !ok {
		code := strconv.Itoa(int(c))
		cl = codeLabels{key: l.msgKey + "\xff" + code, values: append(l.msgValues[:3:3], code)}
		l.byCode[c] = cl
	}
	return cl
}
