#!/usr/bin/env bash
# Generates TypeScript (ts-proto, grpc-js services) and a descriptor set (for server reflection)
# from proto/ with the buf binary that ships inside the @bufbuild/buf npm package.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf gen
mkdir -p gen
npx --no-install buf generate
npx --no-install buf build -o gen/descriptor.binpb
touch gen/.stamp
