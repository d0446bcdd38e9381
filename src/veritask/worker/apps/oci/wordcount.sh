#!/bin/sh
# wordcount: counts the lines, words and bytes of the task's dataset file.
set -eu
in=${IEXEC_IN:-/iexec_in}
out=${IEXEC_OUT:-/iexec_out}
name=${IEXEC_DATASET_FILENAME:-}
if [ -z "$name" ] || [ ! -f "$in/$name" ]; then
  echo "wordcount: no dataset file (IEXEC_DATASET_FILENAME='$name' in $in)" >&2
  exit 2
fi
set -- $(wc -l -w -c < "$in/$name")
printf '{"lines": %s, "words": %s, "bytes": %s}\n' "$1" "$2" "$3" > "$out/result.json"
printf '{"deterministic-output-path": "%s/result.json"}\n' "$out" > "$out/computed.json"
cat "$out/result.json"
