#!/bin/bash
# Network for the load benchmark and the flood test: two namespaces joined by a veth pair,
# on 198.19.10.0/24 (RFC 2544 benchmark range, never routed anywhere).
#
#   netns.sh up               isk-load-i (198.19.10.1, the initiators) <-veth-> isk-load-r (198.19.10.2, the responder)
#   netns.sh spoof N          adds N extra source addresses 198.19.16.1 ... (up to 4000) in isk-load-i,
#                             routed from isk-load-r through 198.19.10.1 (so replies come back)
#   netns.sh down             deletes isk-load-i and isk-load-r (only these two)
#   netns.sh status
#
# Namespaces are called isk-load-* so that they never clash with interop/netns.sh (isk-a, isk-b ...)
# or the shared recipes (peer-*). Nothing is added to the root namespace.
set -euo pipefail

I=isk-load-i
R=isk-load-r
I_IP=198.19.10.1
R_IP=198.19.10.2

log() { echo "load/netns.sh: $*" >&2; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
[[ $(id -u) -eq 0 ]] || { log "must run as root"; exit 1; }

case "${1:-}" in
up)
    for ns in $I $R; do
        ns_exists $ns || ip netns add $ns
        ip -n $ns link set lo up
    done
    if ! ip -n $I link show veth0 >/dev/null 2>&1; then
        ip -n $R link del veth0 2>/dev/null || true
        ip link add isk-load-i0 netns $I type veth peer name isk-load-r0 netns $R
        ip -n $I link set isk-load-i0 name veth0
        ip -n $R link set isk-load-r0 name veth0
    fi
    ip -n $I addr replace $I_IP/24 dev veth0
    ip -n $R addr replace $R_IP/24 dev veth0
    ip -n $I link set veth0 up
    ip -n $R link set veth0 up
    for _ in $(seq 1 50); do
        if ip -n $I -o link show veth0 | grep -q 'state UP' && ip -n $R -o link show veth0 | grep -q 'state UP'; then break; fi
        sleep 0.1
    done
    log "up: $I=$I_IP $R=$R_IP"
    ;;
spoof)
    n=${2:-1000}
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 4000 ]] || { log "N must be 1..4000"; exit 2; }
    ns_exists $I || { log "run 'up' first"; exit 1; }
    # 198.19.16.1 ... : 250 per /24 so that no address ends in .0 or .255
    {
        for ((k = 0; k < n; k++)); do
            echo "addr replace 198.19.$((16 + k / 250)).$((1 + k % 250))/32 dev veth0"
        done
    } | ip -n $I -batch -
    ip -n $R route replace 198.19.16.0/20 via $I_IP dev veth0
    log "spoof: $n addresses from 198.19.16.1 in $I, routed from $R"
    ;;
down)
    for ns in $I $R; do
        if ns_exists $ns; then
            pids=$(ip netns pids $ns 2>/dev/null || true)
            [[ -z $pids ]] || log "warning: processes still in $ns: $pids (deleting anyway)"
            ip netns del $ns
            log "deleted $ns"
        fi
    done
    ;;
status)
    for ns in $I $R; do
        ns_exists $ns || continue
        echo "== $ns"
        ip -n $ns -br addr | head -5
    done
    ;;
*)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
