#!/bin/sh
# probe: a test app that does one thing per mode ($1), most of them misbehaving.
out=${IEXEC_OUT:-/iexec_out}
mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  env) env | sort; for arg in "$@"; do echo "arg=$arg"; done ;;
  exit3) echo "probe: failing on purpose" >&2; exit 3 ;;
  sleep) sleep 3600 ;;
  oom) x=$(head -c 1073741824 /dev/zero | tr '\0' a); echo "${#x}" ;;
  flood) i=0; while :; do head -c 524288 /dev/zero > "$out/flood.$i"; i=$((i + 1)); done ;;
  bigfile) head -c 1073741824 /dev/zero > "$out/big.bin" ;;
  chatter) head -c 67108864 /dev/zero | tr '\0' 'x'; echo; echo "probe: chattered" >&2 ;;
  inodes) i=0; while [ $i -lt 20000 ]; do : > "$out/e$i"; i=$((i + 1)); done ;;
  network)
    # Lists the interfaces, then tries each host:port argument; exit 4 when none answers.
    echo "interfaces: $(ls /sys/class/net | tr '\n' ' ')"
    for target in "$@"; do
      if printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 "${target%:*}" "${target##*:}" >/dev/null 2>&1
      then echo "probe: reached $target" >&2; exit 0; fi
    done
    echo "probe: no network" >&2; exit 4 ;;
  write-input)
    if touch /iexec_in/probe 2>/dev/null; then echo "probe: /iexec_in is writable" >&2; exit 1; fi
    echo "probe: /iexec_in is read-only" ;;
  *) echo "probe: unknown mode '$mode'" >&2; exit 2 ;;
esac
