# shellcheck shell=bash
# Helpers shared by the peers/ scripts. Source it; do not run it.
#
# Everything generated at run time (keys, certificates, configs, logs, pid
# files, pcaps, the fake-xfrm shim) goes below
# $PEERS_RUN (default /tmp/isakmp-interop). Nothing is written anywhere else.

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS_RUN=${PEERS_RUN:-/tmp/isakmp-interop}
export PEERS_DIR PEERS_RUN
export PYTHONDONTWRITEBYTECODE=1 # keys.py is imported from here: no __pycache__

# Fixed test addressing (see netns.sh)
PEER_A_NS=isk-a
PEER_B_NS=isk-b
PEER_A_IP=198.18.0.1
PEER_B_IP=198.18.0.2
export PEER_A_NS PEER_B_NS PEER_A_IP PEER_B_IP

die() {
    echo "${0##*/}: error: $*" >&2
    exit 1
}
info() { echo "${0##*/}: $*" >&2; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# pid_alive PIDFILE -> 0 if the pid in the file is a live process
pid_alive() {
    local f=$1 p
    [[ -s $f ]] || return 1
    p=$(cat "$f")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null
}

# stop_pidfile PIDFILE [TIMEOUT_S] : SIGTERM the one pid in the file, wait,
# SIGKILL if it does not go. Only ever touches that pid.
stop_pidfile() {
    local f=$1 t=${2:-10} p i
    [[ -s $f ]] || return 0
    p=$(cat "$f")
    if [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null; then
        kill -TERM "$p" 2>/dev/null || true
        for ((i = 0; i < t * 10; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$p" 2>/dev/null; then
            info "pid $p did not exit after ${t}s, sending SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    rm -f "$f"
}

# wait_for TIMEOUT_S CMD... : poll CMD every 0.1 s until it succeeds
# stop_all_pidfiles TIMEOUT PIDFILE...: stop_pidfile each (a glob that matched nothing is skipped)
stop_all_pidfiles() {
    local t=$1 p
    shift
    for p in "$@"; do
        [[ -e $p ]] || continue
        stop_pidfile "$p" "$t"
    done
}

wait_for() {
    local t=$1 i
    shift
    for ((i = 0; i < t * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# build the LD_PRELOAD shim (needs gcc + libc6-dev) into a run folder, again whenever the source
# differs from the one it was built from: by content, not by date (several checkouts share the
# run folder, and an older source checked out later looks newer than the shim), and whenever the
# shim is newer than its record (something else built it: what it was built from is unknown)
build_fake_xfrm() {
    local so=$1 src=$2 sum
    sum=$(sha256sum "$src" | cut -d' ' -f1)
    if [[ ! -f $so || ! -f $so.src-sha256 || $so -nt $so.src-sha256 || "$(cat "$so.src-sha256")" != "$sum" ]]; then
        mkdir -p "$(dirname "$so")"
        command -v gcc >/dev/null || die "gcc missing (apt-get install gcc libc6-dev)"
        gcc -Wall -O2 -shared -fPIC -o "$so.tmp" "$src" -ldl || die "building fake-xfrm.so failed"
        mv "$so.tmp" "$so"
        echo "$sum" >"$so.src-sha256"
    fi
    echo "$so"
}

fake_xfrm_so() {
    build_fake_xfrm "$PEERS_RUN/lib/fake-xfrm.so" "$PEERS_DIR/fake-xfrm/fake-xfrm.c"
}
