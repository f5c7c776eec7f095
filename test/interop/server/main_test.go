package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunRejectsBadFlags(t *testing.T) {
	require.ErrorContains(t, run(-1, false, "", ""), "out of range")
	require.ErrorContains(t, run(0, true, "", ""), "--use_tls needs --tls_cert_file and --tls_key_file")
	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("junk"), 0o600))
	require.ErrorContains(t, run(0, true, bad, bad), "loading TLS key pair")
}
