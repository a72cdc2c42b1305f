#!/usr/bin/env bash
# Regenerate src/shim/gen/ from proto/ (the message schemas of containerd's shim protocol,
# written here from its API: names and field numbers are the protocol's). The generated
# TypeScript is committed; only a change to proto/ needs this. buf and ts-proto come from
# npm, pinned, into a directory outside the tree (not dependencies of runjs).
#
# ts-proto writes plain encode/decode functions per message on @bufbuild/protobuf's wire
# reader and writer: nothing is built when a module loads. (protoc-gen-es's descriptor
# registry, used before, cost the shim ~6 ms of start-up and ~4 MB per shim; bench/README.md.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=${PROTO_TOOLS:-/tmp/runjs-proto-tools}
if [ ! -x "$tools/node_modules/.bin/protoc-gen-ts_proto" ] || [ ! -x "$tools/node_modules/.bin/buf" ]; then
	mkdir -p "$tools"
	(cd "$tools" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
		npm install --no-audit --no-fund --loglevel=error --save-exact @bufbuild/buf@1.75.0 ts-proto@2.18.0)
fi
cd "$here"
rm -rf src/shim/gen
# bigint for 64-bit fields (as the Go types); Timestamp as seconds/nanos; no JSON or service code
opts='"forceLong=bigint","useDate=false","outputJsonMethods=false","outputServices=false","outputTypeRegistry=false","unrecognizedEnum=false","exportCommonSymbols=false","importSuffix=.ts"'
PATH=$tools/node_modules/.bin:$PATH buf generate proto --template "{\"version\":\"v2\",\"plugins\":[{\"local\":\"protoc-gen-ts_proto\",\"out\":\"src/shim/gen\",\"opt\":[$opts]}]}"
