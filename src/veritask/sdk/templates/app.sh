#!/bin/sh
# A Veritask app: busybox sh in a sandbox with no network (the iExec app contract).
#   arguments   the request's iexec_args, split like a shell
#   $IEXEC_IN   read-only inputs: the dataset file $IEXEC_DATASET_FILENAME (if the task has
#               one) and the input files $IEXEC_INPUT_FILE_NAME_1..$IEXEC_INPUT_FILES_NUMBER
#   $IEXEC_OUT  the outputs, ending with computed.json naming the deterministic result
# Make the result depend on the inputs only (no dates, no random values): replicated
# workers compare it.
set -eu
in=${IEXEC_IN:-/iexec_in}
out=${IEXEC_OUT:-/iexec_out}

if [ $# -gt 0 ]; then who="$*"; else who=World; fi
printf 'Hello, %s!\n' "$who" > "$out/result.txt"
dataset=${IEXEC_DATASET_FILENAME:-}
if [ -n "$dataset" ] && [ -f "$in/$dataset" ]; then
    printf 'dataset: %s lines\n' "$(wc -l < "$in/$dataset")" >> "$out/result.txt"
fi
printf 'input files: %s\n' "${IEXEC_INPUT_FILES_NUMBER:-0}" >> "$out/result.txt"

printf '{"deterministic-output-path": "%s/result.txt"}\n' "$out" > "$out/computed.json"
cat "$out/result.txt"
