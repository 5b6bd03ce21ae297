#!/bin/bash
# Run Libreswan's pluto (a second, independent IKEv1 implementation) inside a network namespace,
# driven by whack over a per-instance control socket.
#
#   pluto.sh install                  unpack Debian's libreswan package into $PEERS_RUN/libreswan
#                                     (not installed: it conflicts with strongSwan's packages;
#                                     its libraries come from interop/install.sh)
#   pluto.sh start NAME NETNS CONF SECRETS [P12]
#                                     ipsec.conf connections (CONF: the `conn` sections only) and
#                                     ipsec.secrets; P12 (optional): a PKCS#12 file of pki.sh
#                                     (password "peers") imported into pluto's NSS database,
#                                     with pki.sh's CA
#   pluto.sh up    NAME CONN [TIMEOUT_S]   whack --initiate (rc 0 = IPsec SA established)
#   pluto.sh down  NAME CONN          whack --terminate (Deletes sent)
#   pluto.sh whack NAME ARGS...       any whack command against NAME
#   pluto.sh log   NAME               print the log file path
#   pluto.sh stop  NAME               whack --shutdown, then SIGTERM by pid
#   pluto.sh stop-all                 stop every instance under $PEERS_RUN
#
# pluto runs with the fake-xfrm shim (this kernel has no ESP: SA installs are acknowledged but
# do not exist; SPIs and policies are real). It looks for its helpers (addconn) under
# /usr/libexec/ipsec: the unpacked folder is bound there in pluto's own mount namespace only
# (the empty mount point is created once; nothing else on the host changes).
# PLUTO_PASSWD: a file copied to the instance's passwd (XAUTH users for xauthby=file).
# PLUTO_DEBUG: pluto's debug classes (plutodebug=, default none; e.g. "base" logs fragments).
# Instance files: $PEERS_RUN/pluto-NAME/{ipsec.conf,ipsec.secrets,nss/,pluto.ctl,pluto.log,pid,
# netns,fake-xfrm.log,stdout}
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"

LSW=$PEERS_RUN/libreswan
EXEC=/usr/libexec/ipsec

inst_dir() { echo "$PEERS_RUN/pluto-$1"; }

cmd_install() {
    need_root
    [[ -x $LSW$EXEC/pluto ]] && return 0
    local tmp
    tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt downloads as its own user
    (cd "$tmp" && apt-get -o DPkg::Lock::Timeout=900 download libreswan >/dev/null) || die "apt-get download libreswan failed"
    rm -rf "$LSW.tmp"
    dpkg-deb -x "$tmp"/libreswan_*.deb "$LSW.tmp" || die "unpacking libreswan failed"
    rm -rf "$tmp" "$LSW"
    mv "$LSW.tmp" "$LSW"
    info "libreswan unpacked: $("$LSW$EXEC/pluto" --version 2>&1 | head -1 | cut -c1-40)"
}

# in_pluto_ns NAME CMD...: CMD in NAME's network namespace with the unpacked helpers bound at
# /usr/libexec/ipsec (a mount namespace of its own)
in_pluto_ns() {
    local d ns
    d=$(inst_dir "$1")
    ns=$(cat "$d/netns")
    shift
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
    ip netns exec "$ns" unshare -m sh -c 'mount --bind "$0" /usr/libexec/ipsec && exec "$@"' "$LSW$EXEC" "$@"
}

wh() { # wh NAME whack-args...
    local n=$1
    shift
    in_pluto_ns "$n" "$EXEC/whack" --ctlsocket "$(inst_dir "$n")/pluto.ctl" "$@"
}

cmd_start() {
    local name=$1 ns=$2 conf=$3 secrets=$4 p12=${5:-} d so
    need_root
    ns_exists "$ns" || die "namespace $ns missing (run ./netns.sh up)"
    cmd_install
    mkdir -p "$EXEC"
    d=$(inst_dir "$name")
    if pid_alive "$d/pid"; then stop_pidfile "$d/pid" 10; fi
    rm -rf "$d"
    mkdir -p "$d/nss"
    echo "$ns" >"$d/netns"
    {
        echo "config setup"
        echo "	logfile=$d/pluto.log"
        echo "	logtime=yes"
        echo "	plutodebug=${PLUTO_DEBUG:-none}"
        echo "	ikev1-policy=accept"
        echo "	dnssec-enable=no"
        echo
        cat "$conf"
    } >"$d/ipsec.conf"
    install -m 600 "$secrets" "$d/ipsec.secrets"
    # an XAUTH gateway with xauthby=file reads $ipsecdir/passwd (user:crypt(3) hash:connection)
    if [[ -n ${PLUTO_PASSWD:-} ]]; then install -m 600 "$PLUTO_PASSWD" "$d/passwd"; fi
    certutil -N -d "sql:$d/nss" --empty-password
    if [[ -n $p12 ]]; then
        [[ -f $PEERS_RUN/pki/ca.crt ]] || die "no CA: run pki.sh"
        certutil -A -d "sql:$d/nss" -n ca -t "CT,," -i "$PEERS_RUN/pki/ca.crt"
        pk12util -i "$p12" -d "sql:$d/nss" -W peers >/dev/null
    fi
    so=$(fake_xfrm_so)
    setsid ip netns exec "$ns" env LD_PRELOAD="$so" FAKE_XFRM_LOG="$d/fake-xfrm.log" \
        unshare -m sh -c 'mount --bind "$0" /usr/libexec/ipsec && exec "$@"' "$LSW$EXEC" \
        "$EXEC/pluto" --nofork --config "$d/ipsec.conf" --secretsfile "$d/ipsec.secrets" \
        --ipsecdir "$d" --nssdir "$d/nss" --rundir "$d" --dumpdir "$d" \
        >>"$d/stdout" 2>&1 </dev/null 3>&- &
    echo $! >"$d/pid"
    if ! wait_for 10 grep -q "loading secrets from" "$d/pluto.log"; then
        tail -5 "$d/stdout" "$d/pluto.log" >&2 || true
        die "pluto $name did not come up"
    fi
    info "pluto $name up in $ns (pid $(cat "$d/pid"), log $d/pluto.log)"
}

case "${1:-}" in
install)
    cmd_install
    ;;
start)
    [[ $# -ge 5 ]] || die "usage: pluto.sh start NAME NETNS CONF SECRETS [P12]"
    cmd_start "$2" "$3" "$4" "$5" "${6:-}"
    ;;
up)
    [[ $# -ge 3 ]] || die "usage: pluto.sh up NAME CONN [TIMEOUT_S]"
    # whack waits for the exchange and prints its progress; rc 0 once the IPsec SA is up
    in_pluto_ns "$2" timeout "${4:-15}" "$EXEC/whack" --ctlsocket "$(inst_dir "$2")/pluto.ctl" --initiate --name "$3"
    ;;
down)
    [[ $# -ge 3 ]] || die "usage: pluto.sh down NAME CONN"
    wh "$2" --terminate --name "$3"
    ;;
whack)
    n=$2
    shift 2
    wh "$n" "$@"
    ;;
log)
    echo "$(inst_dir "$2")/pluto.log"
    ;;
stop)
    [[ $# -ge 2 ]] || die "usage: pluto.sh stop NAME"
    d=$(inst_dir "$2")
    [[ -f $d/pid ]] || exit 0
    stop_pidfile "$d/pid" 10
    info "pluto $2 stopped"
    ;;
stop-all)
    stop_all_pidfiles 10 "$PEERS_RUN"/pluto-*/pid
    ;;
*)
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
