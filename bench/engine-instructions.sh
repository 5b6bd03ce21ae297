#!/usr/bin/env bash
# Instructions per handshake, engine vs crypto-only, counted by valgrind (issue 11). Usage:
#   bash bench/engine-instructions.sh [group=19] [warm=800] [n1=200] [n2=600]   (after npm run build:test)
# Each kind runs twice (warm+n1 and warm+n2 handshakes, the same connections configured); the
# difference over n2-n1 handshakes is per handshake: start-up, warm-up and JIT compilation cancel.
set -euo pipefail
group=${1:-19} warm=${2:-800} n1=${3:-200} n2=${4:-600}
dir=${BUILD:-build}
setup=$((warm + n2))
out=$(mktemp -d)
count() { # kind n: two processes at a time (the counts do not depend on the load)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null node "$dir/bench/engine-instructions.js" "$1" "$group" "$warm" "$2" "$setup" 2>"$out/$1-$2.log"
}
ir() { sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' "$out/$1-$2.log" | tr -d ,; }
count engine "$n1" & count engine "$n2" & wait
count crypto "$n1" & count crypto "$n2" & wait
e1=$(ir engine "$n1") e2=$(ir engine "$n2") c1=$(ir crypto "$n1") c2=$(ir crypto "$n2")
node -e '
const [e1, e2, c1, c2, n] = process.argv.slice(1).map(Number);
const e = (e2 - e1) / n, c = (c2 - c1) / n;
console.log(`group ${process.argv[6]}: engine ${(e / 1e6).toFixed(2)} M instructions per handshake, crypto-only ${(c / 1e6).toFixed(2)} M, engine-only ${((e - c) / 1e6).toFixed(2)} M, ratio ${(100 * c / e).toFixed(1)} %`);
' "$e1" "$e2" "$c1" "$c2" $((n2 - n1)) "$group"
rm -rf "$out"
