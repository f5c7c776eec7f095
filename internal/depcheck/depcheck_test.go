package depcheck

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// deps lists the non-standard packages that pkgs depend on, themselves
// included, as the go command resolves them for this module.
func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	out, err := exec.Command("go", args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// allowedCore are the import path prefixes h2 and rpc may depend on.
var allowedCore = []string{
	"github.com/h2rpc/h2rpc/h2",
	"github.com/h2rpc/h2rpc/rpc",
	"github.com/h2rpc/h2rpc/internal/",
	// Our own generated code (rpc/resolver/etcd's etcd stubs); what it
	// imports in turn is listed by -deps and checked like the rest.
	"github.com/h2rpc/h2rpc/proto/",
	"google.golang.org/protobuf/",
	"golang.org/x/net/",
}

func allowed(pkg string) bool {
	for _, p := range allowedCore {
		if pkg == p || strings.HasPrefix(pkg, p) {
			return true
		}
	}
	return false
}

func TestCorePackagesImportNoOtherDependency(t *testing.T) {
	core := deps(t, "github.com/h2rpc/h2rpc/h2/...", "github.com/h2rpc/h2rpc/rpc/...")
	require.Contains(t, core, "github.com/h2rpc/h2rpc/rpc", "the listing covers rpc")
	var extra []string
	for _, p := range core {
		if !allowed(p) {
			extra = append(extra, p)
		}
	}
	require.Empty(t, extra, "h2 and rpc must import only the standard library, google.golang.org/protobuf and golang.org/x/net")
}

// The check sees what it guards against: the packages that do need the
// new dependencies show them.
func TestCheckSeesTheDependenciesOfOtherPackages(t *testing.T) {
	for pkg, dep := range map[string]string{
		"github.com/h2rpc/h2rpc/otelh2rpc":              "go.opentelemetry.io/otel/trace",
		"github.com/h2rpc/h2rpc/interceptors/validate":  "buf.build/go/protovalidate",
		"github.com/h2rpc/h2rpc/interceptors/ratelimit": "golang.org/x/time/rate",
	} {
		got := deps(t, pkg)
		require.Contains(t, got, dep, pkg)
		notAllowed := false
		for _, p := range got {
			notAllowed = notAllowed || !allowed(p)
		}
		require.True(t, notAllowed, "%s would fail the core check", pkg)
	}
}
