#!/bin/sh
# Builds the libbpf comparison harness into build/harness/libbpf_dump (needs a C compiler and libbpf-dev 1.1).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/harness"
mkdir -p "$out"
cc=${CC:-$(command -v cc || command -v gcc || command -v clang-14)}
"$cc" -O1 -g -Wall -Wextra -o "$out/libbpf_dump.tmp" "$root/tests/harness/libbpf_dump.c" -lbpf
mv "$out/libbpf_dump.tmp" "$out/libbpf_dump"
echo "$out/libbpf_dump"
