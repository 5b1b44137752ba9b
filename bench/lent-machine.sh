#!/bin/sh
# Runs benchmark suites or presets from the portable bundle on a machine lent for a few minutes,
# with nothing installed there: `sh bench/lent-machine.sh BUDGET_S NAME…` from the repository root,
# the bundle (`npm run bundle`) carried along at .cell/bundle/. Each preset's output lands in $OUT
# (or ./lent-out); the bundle is unpacked once per machine, under $TMPDIR (or /tmp).
#
#   sh bench/lent-machine.sh 540 16core-first     # C1M through replicas, progress every 2 s
#   sh bench/lent-machine.sh 200 16core-rest      # wake-up cost, replicas at a fixed rate, fan-out, latency
set -eu
if [ $# -lt 2 ]; then
  echo "usage: sh bench/lent-machine.sh BUDGET_SECONDS PRESET_OR_SUITE..." >&2
  exit 2
fi
budget=$1
shift
bundle=$(ls .cell/bundle/cell-bundle-*.tar.* 2>/dev/null | head -n 1)
if [ -z "$bundle" ]; then
  echo "lent-machine: no .cell/bundle/cell-bundle-*.tar.* here: run \`npm run bundle\` and carry it" >&2
  exit 1
fi
where=${TMPDIR:-/tmp}/cell-lent
if [ ! -x "$where/cell-bundle/run.sh" ]; then
  mkdir -p "$where"
  # tar needs xz for a .tar.xz; Python's tarfile reads it without.
  if ! tar -C "$where" -xf "$bundle" 2>/dev/null; then
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$where"
  fi
fi
out=${OUT:-$(pwd)/lent-out}
mkdir -p "$out"
echo "lent-machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r); bundle $(basename "$bundle"); output in $out" >&2
exec "$where/cell-bundle/run.sh" --out="$out" --budget-s="$budget" "$@"
