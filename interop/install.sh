#!/bin/bash
# Install what the interop suite needs (Debian 12): strongSwan charon, swanctl, pki, Libreswan's pluto (unpacked), tshark,
# gcc for the fake-xfrm shim, chromium (diagram rendering), systemd-analyze, zsh. Idempotent: the second run only checks (0.3 s).
# (Project copy of the shared peers/ recipe; run as root.)
#   install.sh            apt packages + build the fake-xfrm shim into $PEERS_RUN
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
need_root

PKGS=(
    # strongSwan charon + swanctl + pki, and the packages of the plugins that
    # charon.sh loads: openssl (standard-plugins), kernel-libipsec + unity
    # (libcharon-extra-plugins), xauth-generic (libcharon-extauth-plugins)
    strongswan-charon strongswan-swanctl strongswan-pki strongswan-libcharon
    libstrongswan libstrongswan-standard-plugins libcharon-extra-plugins
    libcharon-extauth-plugins
    # strongSwan's command-line client: its IKEv1 profiles ikev1-xauth-psk and ikev1-hybrid
    # against our gateway (test/interop/charon-cmd.test.ts)
    charon-cmd
    # dissector/decryptor for captures
    tshark
    # headless browser that renders `isakmp decode --diagram` output to PNG
    # (test/interop/diagram-render.test.ts), its fonts, and systemd-analyze
    # for the unit file check; zsh for the completion check
    chromium fonts-dejavu-core systemd zsh
    # scripts: namespaces, fake-xfrm shim, PKCS#12 in pki.sh, ping through
    # tunnels, keys.py, timings in test-all.sh
    iproute2 gcc libc6-dev openssl iputils-ping python3 bc
    # the xfrm netlink test compares our messages with what iproute2 sends (strace)
    strace
    # failover (test/interop/ha.test.ts): the replicated store, gratuitous ARP for the
    # virtual address
    etcd-server iputils-arping
    # remote access (test/interop/radius.test.ts): a real RADIUS server, started by the test
    # with its own configuration on loopback ports (the packaged service is not used)
    freeradius
    # vpnc, the Cisco-style remote-access client (Aggressive Mode group PSK, XAUTH, Mode Config,
    # Cisco Unity), against our gateway (test/interop/vpnc.test.ts); it does ESP itself over a tun
    vpnc
    # ike-scan, the IKEv1 scanner and Aggressive Mode PSK harvester (with psk-crack), against our
    # default policy (test/interop/ike-scan.test.ts)
    ike-scan
    # Libreswan's pluto as a second real IKEv1 peer (test/interop/libreswan.test.ts): its
    # package conflicts with strongSwan's, so pluto.sh unpacks it without installing; these are
    # its libraries, and NSS's tools for its key database
    libnss3 libnss3-tools libnspr4 libunbound8 libldns3 libevent-core-2.1-7
    libevent-pthreads-2.1-7 libcurl3-nss libldap-2.5-0 libcap-ng0 libaudit1 libpam0g
)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    info "installing: ${missing[*]}"
    # tshark asks whether non-root users may capture: answer no, non-interactively
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    # a fresh machine may have no package lists yet
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
fi
fake_xfrm_so >/dev/null
bash "$(dirname "$0")/pluto.sh" install
info "ok: $(/usr/lib/ipsec/charon --version 2>&1 | head -1 || true) / $(tshark --version 2>/dev/null | head -1) / shim $PEERS_RUN/lib/fake-xfrm.so"
