#!/bin/bash
# Test network for IKEv1 peers: network namespaces isk-a, isk-b (, isk-c ...)
# on 198.18.0.0/24 (RFC 2544 benchmark range, never routed anywhere).
#
#   netns.sh up [N]    create N namespaces (default 2, max 9), idempotent
#   netns.sh up nat    isk-a behind a router namespace isk-nat, isk-b outside (below)
#   netns.sh down      delete every isk-* namespace created by this script
#   netns.sh status    show namespaces and addresses
#
# N=2: isk-a (198.18.0.1) <-veth-> isk-b (198.18.0.2); the interfaces are
#      called "veth0" inside each namespace.
# N>2: every isk-X has veth0 (198.18.0.<index>) plugged into bridge br0 in
#      an extra namespace "isk-hub".
# Each isk-X also gets an "inner" (protected-network) address 198.18.0.<128+index>/32
# on its loopback: isk-a 198.18.0.129, isk-b 198.18.0.130, ... for net-to-net
# Quick Mode selectors and data-plane tests that do not cover the IKE addresses.
# nat: isk-a (10.77.0.2/24, default route via 10.77.0.1) <-veth-> isk-nat (inside 10.77.0.1,
#      outside 198.18.0.1) <-veth-> isk-b (198.18.0.2/24). The router forwards nothing itself
#      (ip_forward 0, and the lab kernel has no netfilter): test/interop/udp-nat.ts relays UDP.
#      For that the router holds the outside peer's address 198.18.0.2 on its loopback, so the
#      client's datagrams to it are delivered locally; the relay's own datagrams from 198.18.0.1
#      reach the real 198.18.0.2 by a rule looked up before the local table, and the router
#      does not answer ARP for 198.18.0.2 on the outside link. isk-a keeps its inner address
#      198.18.0.129 on lo, isk-b 198.18.0.130.
# Nothing is added to the root namespace: no routes, no addresses, no links.
set -euo pipefail

NAMES=(a b c d e f g h i)
PREFIX=198.18.0

log() { echo "netns.sh: $*" >&2; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

ensure_ns() {
    local ns=$1
    if ! ns_exists "$ns"; then
        ip netns add "$ns"
        log "created namespace $ns"
    fi
    ip -n "$ns" link set lo up
    # IKE daemons inside may want to forward packets between tunnel and veth
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 || true
}

addr_for() { echo "$PREFIX.$(($1 + 1))"; }
inner_for() { echo "$PREFIX.$(($1 + 129))"; }

up_pair() {
    ensure_ns isk-a
    ensure_ns isk-b
    if ! ip -n isk-a link show veth0 >/dev/null 2>&1; then
        # a stale half could be left in isk-b by an interrupted run
        ip -n isk-b link del veth0 2>/dev/null || true
        ip link add isk-a-tmp netns isk-a type veth peer name isk-b-tmp netns isk-b
        ip -n isk-a link set isk-a-tmp name veth0
        ip -n isk-b link set isk-b-tmp name veth0
    fi
    local i ns
    for i in 0 1; do
        ns=isk-${NAMES[$i]}
        ip -n "$ns" addr replace "$(addr_for $i)/24" dev veth0
        ip -n "$ns" addr replace "$(inner_for $i)/32" dev lo
        ip -n "$ns" link set veth0 up
    done
}

up_hub() {
    local n=$1 i ns
    ensure_ns isk-hub
    if ! ip -n isk-hub link show br0 >/dev/null 2>&1; then
        ip -n isk-hub link add br0 type bridge
    fi
    ip -n isk-hub link set br0 up
    for ((i = 0; i < n; i++)); do
        ns=isk-${NAMES[$i]}
        ensure_ns "$ns"
        if ! ip -n "$ns" link show veth0 >/dev/null 2>&1; then
            ip -n isk-hub link del "p-${NAMES[$i]}" 2>/dev/null || true
            ip link add "$ns-tmp" netns "$ns" type veth peer name "p-${NAMES[$i]}" netns isk-hub
            ip -n "$ns" link set "$ns-tmp" name veth0
        fi
        ip -n isk-hub link set "p-${NAMES[$i]}" master br0 up
        ip -n "$ns" addr replace "$(addr_for $i)/24" dev veth0
        ip -n "$ns" addr replace "$(inner_for $i)/32" dev lo
        ip -n "$ns" link set veth0 up
    done
}

NAT_INSIDE=10.77.0

up_nat() {
    local ns
    for ns in isk-a isk-nat isk-b; do ensure_ns "$ns"; done
    ip netns exec isk-nat sysctl -qw net.ipv4.ip_forward=0
    if ! ip -n isk-a link show veth0 >/dev/null 2>&1; then
        ip -n isk-nat link del inside 2>/dev/null || true
        ip link add isk-a-tmp netns isk-a type veth peer name inside netns isk-nat
        ip -n isk-a link set isk-a-tmp name veth0
    fi
    if ! ip -n isk-b link show veth0 >/dev/null 2>&1; then
        ip -n isk-nat link del outside 2>/dev/null || true
        ip link add isk-b-tmp netns isk-b type veth peer name outside netns isk-nat
        ip -n isk-b link set isk-b-tmp name veth0
    fi
    ip -n isk-a addr replace "$NAT_INSIDE.2/24" dev veth0
    ip -n isk-a addr replace "$(inner_for 0)/32" dev lo
    ip -n isk-a link set veth0 up
    ip -n isk-a route replace default via "$NAT_INSIDE.1"
    ip -n isk-b addr replace "$(addr_for 1)/24" dev veth0
    ip -n isk-b addr replace "$(inner_for 1)/32" dev lo
    ip -n isk-b link set veth0 up
    ip -n isk-nat addr replace "$NAT_INSIDE.1/24" dev inside
    ip -n isk-nat addr replace "$(addr_for 0)/24" dev outside
    ip -n isk-nat addr replace "$(addr_for 1)/32" dev lo
    ip -n isk-nat link set inside up
    ip -n isk-nat link set outside up
    # from the outside address to the outside network: the link, before the local table (which
    # says 198.18.0.2 is the router's own)
    ip -n isk-nat route replace "$PREFIX.0/24" dev outside src "$(addr_for 0)" table 200
    ip -n isk-nat rule del pref 10 2>/dev/null || true
    ip -n isk-nat rule add pref 10 from "$(addr_for 0)" lookup 200
    if ip -n isk-nat rule show pref 0 | grep -q local; then
        ip -n isk-nat rule add pref 20 lookup local
        ip -n isk-nat rule del pref 0
    fi
    local k
    for k in all outside inside; do
        ip netns exec isk-nat sysctl -qw "net.ipv4.conf.$k.rp_filter=0" "net.ipv4.conf.$k.accept_local=1" \
            "net.ipv4.conf.$k.arp_ignore=1" "net.ipv4.conf.$k.arp_announce=2"
    done
}

case "${1:-}" in
up)
    if [[ ${2:-} == nat ]]; then
        if ns_exists isk-hub; then
            log "isk-hub exists (a previous 'up N>2'); run 'down' first"
            exit 1
        fi
        if ns_exists isk-a && ! ns_exists isk-nat; then
            log "a direct pair exists; run 'down' first"
            exit 1
        fi
        up_nat
        for _ in $(seq 1 50); do
            if ip -n isk-a -o link show veth0 | grep -q 'state UP' && ip -n isk-b -o link show veth0 | grep -q 'state UP'; then break; fi
            sleep 0.1
        done
        log "up: isk-a=$NAT_INSIDE.2 behind isk-nat ($NAT_INSIDE.1 / $(addr_for 0)) isk-b=$(addr_for 1)"
        exit 0
    fi
    if ns_exists isk-nat; then
        log "isk-nat exists (a previous 'up nat'); run 'down' first"
        exit 1
    fi
    n=${2:-2}
    if ! [[ $n =~ ^[2-9]$ ]]; then
        log "N must be 2..9"
        exit 2
    fi
    if [[ $n -eq 2 ]] && ns_exists isk-hub; then
        log "isk-hub exists (a previous 'up N>2'); run 'down' first"
        exit 1
    fi
    if [[ $n -gt 2 ]] && ns_exists isk-a && ! ns_exists isk-hub; then
        log "a direct pair exists; run 'down' first"
        exit 1
    fi
    if [[ $n -eq 2 ]]; then up_pair; else up_hub "$n"; fi
    # wait until the links report carrier (IPv4 has no DAD; a veth needs a moment)
    for _ in $(seq 1 50); do
        if ip -n isk-a -o link show veth0 | grep -q 'state UP'; then break; fi
        sleep 0.1
    done
    log "up: $(for ((i = 0; i < n; i++)); do printf 'isk-%s=%s ' "${NAMES[$i]}" "$(addr_for $i)"; done)"
    ;;
down)
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^isk-([a-i]|hub|nat)$' || true); do
        # refuse to pull a namespace away from processes still living in it
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            log "warning: processes still in $ns: $pids (stop them first; deleting anyway)"
        fi
        ip netns del "$ns"
        log "deleted namespace $ns"
    done
    ;;
status)
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^isk-' || true); do
        echo "== $ns"
        ip -n "$ns" -br addr
    done
    ;;
*)
    echo "usage: $0 up [N] | down | status" >&2
    exit 2
    ;;
esac
