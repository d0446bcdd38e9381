#!/bin/sh
# hello: the iExec app contract in busybox sh. Greets its arguments (or the World) in
# /iexec_out/result.txt and names that file in computed.json.
set -eu
out=${IEXEC_OUT:-/iexec_out}
if [ $# -gt 0 ]; then who="$*"; else who=World; fi
printf 'Hello, %s!\n' "$who" > "$out/result.txt"
printf '{"deterministic-output-path": "%s/result.txt"}\n' "$out" > "$out/computed.json"
echo "Hello, $who!"
