#!/bin/sh
# Source of the certificates in this folder: generated for the isakmp crypto tests with the
# OpenSSL 3.0 command line (this script), not taken from any other project. Re-running it makes
# new keys; the tests only rely on the structure below, never on specific key bytes.
#   ca.pem          root CA "C=CH, O=peers-test, CN=Test Root CA" (RSA 2048, CA:TRUE)
#   int.pem         intermediate CA signed by ca (RSA 2048, CA:TRUE)
#   leaf.pem/.key   "C=CH, O=peers-test, CN=peer-a" signed by int; SAN DNS:peer-a.peers.test,
#                   IP:198.18.0.1, IP:2001:db8::1, email:alice@peers.test (RSA 2048)
#   direct.pem      "CN=peer-b" signed by ca directly (RSA 2048), SAN DNS:peer-b.peers.test
#   small.pem       "CN=small" signed by ca with an RSA 1024 key (must be refused)
#   rogue-ca.pem    an unrelated CA; rogue-leaf.pem "CN=peer-a" signed by it (must not chain)
#   notca-leaf.pem  "CN=victim" signed by leaf.key (a non-CA end entity acting as issuer)
#   nosig-leaf.pem  "CN=nosig" signed by ca, keyUsage keyEncipherment only (no signatures allowed)
#   nocertsign-int.pem + below-nocertsign.pem: a CA:TRUE intermediate whose keyUsage lacks
#                   keyCertSign, and a leaf it signed
#   md5-leaf.pem    "CN=md5" signed by ca with md5WithRSAEncryption
# All valid for 7300 days from generation (2026-11-29); the tests pass `now` explicitly.
set -eu
cd "$(dirname "$0")"
T=$(mktemp -d)
days=7300
ext_ca="basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
ext_ee="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
printf '%s\n' "$ext_ca" > $T/ca.ext
openssl req -x509 -newkey rsa:2048 -nodes -keyout $T/ca.key -out ca.pem -days $days -subj "/C=CH/O=peers-test/CN=Test Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout $T/rogue.key -out rogue-ca.pem -days $days -subj "/C=CH/O=peers-test/CN=Test Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
sign() { # name subj issuer-cert issuer-key bits extfile
  openssl req -newkey rsa:$5 -nodes -keyout $T/$1.key -out $T/$1.csr -subj "$2" 2>/dev/null
  openssl x509 -req -in $T/$1.csr -CA $3 -CAkey $4 -CAcreateserial -days $days -out $1.pem -extfile $6 2>/dev/null
}
sign int "/C=CH/O=peers-test/CN=Test Intermediate CA" ca.pem $T/ca.key 2048 $T/ca.ext
printf '%s\nsubjectAltName=DNS:peer-a.peers.test,IP:198.18.0.1,IP:2001:db8::1,email:alice@peers.test\n' "$ext_ee" > $T/leaf.ext
sign leaf "/C=CH/O=peers-test/CN=peer-a" int.pem $T/int.key 2048 $T/leaf.ext
cp $T/leaf.key leaf.key
printf '%s\nsubjectAltName=DNS:peer-b.peers.test\n' "$ext_ee" > $T/direct.ext
sign direct "/C=CH/O=peers-test/CN=peer-b" ca.pem $T/ca.key 2048 $T/direct.ext
printf '%s\n' "$ext_ee" > $T/ee.ext
sign small "/C=CH/O=peers-test/CN=small" ca.pem $T/ca.key 1024 $T/ee.ext
sign rogue-leaf "/C=CH/O=peers-test/CN=peer-a" rogue-ca.pem $T/rogue.key 2048 $T/ee.ext
sign notca-leaf "/C=CH/O=peers-test/CN=victim" leaf.pem leaf.key 2048 $T/ee.ext
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n' > $T/nosig.ext
sign nosig-leaf "/C=CH/O=peers-test/CN=nosig" ca.pem $T/ca.key 2048 $T/nosig.ext
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n' > $T/nocs.ext
sign nocertsign-int "/C=CH/O=peers-test/CN=No CertSign CA" ca.pem $T/ca.key 2048 $T/nocs.ext
sign below-nocertsign "/C=CH/O=peers-test/CN=below" nocertsign-int.pem $T/nocertsign-int.key 2048 $T/ee.ext
openssl req -newkey rsa:2048 -nodes -keyout $T/md5.key -out $T/md5.csr -subj "/C=CH/O=peers-test/CN=md5" 2>/dev/null
openssl x509 -req -md5 -in $T/md5.csr -CA ca.pem -CAkey $T/ca.key -CAcreateserial -days $days -out md5-leaf.pem -extfile $T/ee.ext 2>/dev/null
rm -rf $T
rm -f *.srl
