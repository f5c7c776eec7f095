#!/bin/sh
# Fails when the generated code committed under proto/ is stale: regenerates
# it with the protoc-free generator and asks git whether anything changed.
# Run from anywhere inside the repository; CI calls it after checkout.
set -eu
cd "$(git rev-parse --show-toplevel)"
go generate ./proto/...
if ! git diff --exit-code --stat -- proto || [ -n "$(git status --porcelain --untracked-files=all -- proto)" ]; then
	echo "generated code under proto/ is stale: run 'go generate ./proto/...' and commit the result" >&2
	git status --short -- proto >&2
	exit 1
fi
echo "generated code under proto/ is up to date"
