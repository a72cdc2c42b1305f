#!/usr/bin/env bash
# Regenerate src/shim/gen/ from proto/ (the message schemas of containerd's shim protocol,
# written here from its API: names and field numbers are the protocol's). The generated
# TypeScript is committed; only a change to proto/ needs this. buf and protoc-gen-es come
# from npm, pinned, into a directory outside the tree (not dependencies of runjs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=${PROTO_TOOLS:-/tmp/runjs-proto-tools}
if [ ! -x "$tools/node_modules/.bin/buf" ]; then
	mkdir -p "$tools"
	(cd "$tools" && echo '{"private":true}' >package.json &&
		npm install --no-audit --no-fund --loglevel=error --save-exact @bufbuild/buf@1.75.0 @bufbuild/protoc-gen-es@2.17.0)
fi
cd "$here"
rm -rf src/shim/gen
PATH=$tools/node_modules/.bin:$PATH buf generate proto --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":"src/shim/gen","opt":["target=ts","import_extension=ts"]}]}'
