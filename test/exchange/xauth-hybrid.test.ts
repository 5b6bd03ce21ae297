// XAUTH variants in memory: the "Resp" forms of the phase-1 methods when the gateway initiates,
// Hybrid authentication (draft-ietf-ipsec-isakmp-hybrid-auth-05) both ways (the gateway signs, the
// client sends a HASH made with the signature SKEYID and has no key of its own), the XAUTH vendor
// ID, and a client asked for an XAUTH type it does not do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeHeader, decodeMessage } from '../../src/codec/index.js';
import { AuthMethod, CfgAttr, CfgType, XauthType } from '../../src/constants/index.js';
import { XAUTH_VID } from '../../src/exchange/extensions/xauth.js';
import { ikeTransformName } from '../../src/exchange/names.js';
import type { XauthPolicy } from '../../src/exchange/types.js';
import { Pair, conn, type ConnOverrides } from '../helpers/pair.js';

const enc = new TextEncoder();
const PASSWORD = 'hybrid-Pa55word-7731';
const CLIENT: XauthPolicy = { role: 'client', user: 'alice', password: enc.encode(PASSWORD) };
const gwKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const clKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The authentication methods of the SA payload in a phase-1 message (MM1 offer, MM2 answer). */
function authMethods(data: Uint8Array): number[] {
  const sa = decodeMessage(data).payloads.find((p) => p.type === 'SA');
  if (sa?.type !== 'SA') return [];
  return sa.proposals.flatMap((p) => p.transforms.flatMap((t) => t.attributes.filter((a) => a.type === 3).map((a) => (a.format === 'TV' ? a.value : -1))));
}

function vids(data: Uint8Array): string[] {
  return decodeMessage(data).payloads.flatMap((p) => (p.type === 'VID' ? [Buffer.from(p.data).toString('hex')] : []));
}

/** Answers the gateway's (side `gw`) checks: alice / PASSWORD. */
function backend(pair: Pair, gw: 'a' | 'b', rounds = 40): void {
  const done = new Set<number>();
  for (let i = 0; i < rounds; i++) {
    pair.run(500);
    for (const e of pair.ev(gw, 'xauth-request')) {
      if (done.has(e.requestId)) continue;
      done.add(e.requestId);
      (gw === 'a' ? pair.a : pair.b).answerXauth(pair.now, e.requestId, e.user === 'alice' && e.password === PASSWORD);
    }
  }
}

/** a = client, b = gateway; `clientOver` / `gwOver` are their credentials. */
function raPair(seed: string, client: ConnOverrides, gw: ConnOverrides): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', client));
  pair.b.setConnection(conn(pair, 'b', gw));
  return pair;
}

const hybridClient = (trusted: KeyObject): ConnOverrides => ({ auth: 'rsa-sig', rsa: { peerPublicKey: trusted }, xauth: { ...CLIENT, hybrid: true } });
const hybridGateway: ConnOverrides = { auth: 'rsa-sig', rsa: { privateKey: gwKey.privateKey }, xauth: { role: 'server', retries: 2, hybrid: true } };

test('XAUTH PSK with the gateway initiating: XAUTHRespPreShared (65002) both ways, then XAUTH and Quick Mode', () => {
  const pair = raPair('xauth-resp-psk', { xauth: CLIENT }, { xauth: { role: 'server' } });
  pair.b.initiate(pair.now, 'c');
  backend(pair, 'b');
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_RESP_PRESHARED]);
  assert.deepEqual(authMethods(pair.wire[1]!.data), [AuthMethod.XAUTH_RESP_PRESHARED]);
  assert.equal(pair.ev('a', 'xauth-done')[0]?.ok, true);
  assert.equal(pair.a.ipsecSas().length, 1);
});

test('XAUTH RSA with the gateway initiating: XAUTHRespRSA (65006)', () => {
  const pair = raPair(
    'xauth-resp-rsa',
    { auth: 'rsa-sig', rsa: { privateKey: clKey.privateKey, peerPublicKey: gwKey.publicKey }, xauth: CLIENT },
    { auth: 'rsa-sig', rsa: { privateKey: gwKey.privateKey, peerPublicKey: clKey.publicKey }, xauth: { role: 'server' } },
  );
  pair.b.initiate(pair.now, 'c');
  backend(pair, 'b');
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_RESP_RSA]);
  assert.equal(pair.ev('b', 'xauth-done')[0]?.ok, true);
  assert.equal(pair.b.ipsecSas().length, 1);
});

test('an XAUTH connection answers only its own form: a PSK gateway refuses XAUTHRespPreShared from an initiating "gateway"', () => {
  // both sides think they are the gateway: the initiator offers 65002, the responder wants 65001
  const pair = raPair('xauth-form-mismatch', { xauth: { role: 'server' } }, { xauth: { role: 'server' } });
  pair.a.initiate(pair.now, 'c');
  pair.run(3000);
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_RESP_PRESHARED]);
  assert.equal(pair.ev('b', 'phase1-established').length, 0);
  assert.equal(pair.b.isakmpSas().length, 0);
});

test('Hybrid (HybridInitRSA 64221): the gateway signs, the client sends a HASH and no certificate, XAUTH follows', () => {
  const pair = raPair('hybrid-init', hybridClient(gwKey.publicKey), hybridGateway);
  pair.a.initiate(pair.now, 'c');
  backend(pair, 'b');
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.HYBRID_INIT_RSA]);
  assert.deepEqual(authMethods(pair.wire[1]!.data), [AuthMethod.HYBRID_INIT_RSA]);
  assert.equal(pair.ev('b', 'phase1-established').length, 1);
  assert.equal(pair.ev('b', 'xauth-done')[0]?.ok, true);
  assert.equal(pair.a.ipsecSas().length, 1);
  assert.equal(pair.b.ipsecSas().length, 1);
  // the gateway asked no certificate of its client (no CERTREQ in MM4)
  const mm4 = decodeMessage(pair.wire[3]!.data);
  assert.ok(!mm4.payloads.some((p) => p.type === 'CR'), 'a Hybrid gateway sends no CERTREQ');
});

test('Hybrid with the gateway initiating: HybridRespRSA (64222)', () => {
  const pair = raPair('hybrid-resp', hybridClient(gwKey.publicKey), hybridGateway);
  pair.b.initiate(pair.now, 'c');
  backend(pair, 'b');
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.HYBRID_RESP_RSA]);
  assert.equal(pair.ev('a', 'xauth-done')[0]?.ok, true);
  assert.equal(pair.a.ipsecSas().length, 1);
});

test('Hybrid: a client that trusts another key refuses the gateway\'s signature; no XAUTH is asked', () => {
  const pair = raPair('hybrid-untrusted', hybridClient(otherKey.publicKey), hybridGateway);
  pair.a.initiate(pair.now, 'c');
  pair.run(4000);
  assert.equal(pair.ev('a', 'phase1-established').length, 0);
  assert.equal(pair.ev('b', 'xauth-request').length, 0, 'the client never answered with its password');
  const pw = Buffer.from(PASSWORD);
  for (const w of pair.wire) assert.equal(Buffer.from(w.data).indexOf(pw), -1);
});

test('Hybrid: a gateway refuses a client that signs instead of sending a HASH (plain XAUTH RSA against Hybrid)', () => {
  const pair = raPair('hybrid-vs-sig', { auth: 'rsa-sig', rsa: { privateKey: clKey.privateKey, peerPublicKey: gwKey.publicKey }, xauth: CLIENT }, hybridGateway);
  pair.a.initiate(pair.now, 'c');
  pair.run(3000);
  // 65005 offered, 64221 wanted: no proposal chosen
  assert.deepEqual(authMethods(pair.wire[0]!.data), [AuthMethod.XAUTH_INIT_RSA]);
  assert.equal(pair.ev('b', 'phase1-established').length, 0);
});

test('a connection without a private key that is not a Hybrid client is refused at setConnection', () => {
  const pair = new Pair({ seed: 'hybrid-nokey' });
  assert.throws(() => pair.b.setConnection(conn(pair, 'b', { auth: 'rsa-sig', rsa: { peerPublicKey: gwKey.publicKey }, xauth: { role: 'server' } })), /private key missing/);
  assert.throws(() => pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server', hybrid: true } })), /Hybrid authentication needs rsa-sig/);
});

test('the XAUTH vendor ID goes out in MM1 and MM2 of XAUTH connections, never on others', () => {
  const pair = raPair('xauth-vid', { xauth: CLIENT }, { xauth: { role: 'server' } });
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const hex = Buffer.from(XAUTH_VID).toString('hex');
  assert.equal(hex, '09002689dfd6b712');
  assert.ok(vids(pair.wire[0]!.data).includes(hex), 'MM1');
  assert.ok(vids(pair.wire[1]!.data).includes(hex), 'MM2');
  const plain = new Pair({ seed: 'no-xauth-vid' });
  plain.a.setConnection(conn(plain, 'a'));
  plain.b.setConnection(conn(plain, 'b'));
  plain.a.initiate(plain.now, 'c');
  plain.run(2000);
  assert.ok(!vids(plain.wire[0]!.data).includes(hex) && !vids(plain.wire[1]!.data).includes(hex));
});

test('a client asked for XAUTH type OTP answers the type alone (no credentials), and names it when refused', () => {
  const pair = raPair('xauth-otp', { xauth: CLIENT }, { xauth: { role: 'server', retries: 1 } });
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const req = pair.ev('b', 'xauth-request');
  assert.equal(req.length, 1);
  // the gateway (its caller) asks again with type OTP
  const sa = pair.b.isakmpSas()[0]!.id;
  pair.b.sendTransaction(pair.now, sa, CfgType.ISAKMP_CFG_REQUEST, 9, [
    { format: 'TV', type: CfgAttr.XAUTH_TYPE, value: XauthType.OTP },
    { format: 'TLV', type: CfgAttr.XAUTH_USER_NAME, value: new Uint8Array(0) },
    { format: 'TLV', type: CfgAttr.XAUTH_PASSCODE, value: new Uint8Array(0) },
  ]);
  pair.run(2000);
  const reply = pair.ev('b', 'transaction').find((t) => t.answered && t.cfgType === CfgType.ISAKMP_CFG_REPLY);
  assert.ok(reply, 'the client answered the OTP request');
  assert.deepEqual(reply.attributes, [{ format: 'TV', type: CfgAttr.XAUTH_TYPE, value: XauthType.OTP }]);
  pair.b.answerXauth(pair.now, req[0]!.requestId, false);
  pair.run(3000);
  const done = pair.ev('a', 'xauth-done');
  assert.equal(done[0]?.ok, false);
  assert.match(done[0]!.reason, /XAUTH type 2 \(OTP\).*generic/);
});

test('Aggressive Mode, as the macOS/iOS Cisco IPsec client and vpnc use for group PSK and Hybrid: XAUTH PSK and Hybrid both complete', () => {
  const am: ConnOverrides = { exchange: 'aggressive', allowAggressivePsk: true };
  const psk = raPair('am-xauth-psk', { ...am, xauth: CLIENT }, { ...am, xauth: { role: 'server' } });
  psk.a.initiate(psk.now, 'c');
  backend(psk, 'b');
  assert.deepEqual(authMethods(psk.wire[0]!.data), [AuthMethod.XAUTH_INIT_PRESHARED]);
  assert.equal(psk.ev('a', 'xauth-done')[0]?.ok, true);
  assert.equal(psk.a.ipsecSas().length, 1);

  const hy = raPair('am-hybrid', { ...am, ...hybridClient(gwKey.publicKey) }, { ...am, ...hybridGateway });
  hy.a.initiate(hy.now, 'c');
  backend(hy, 'b');
  assert.deepEqual(authMethods(hy.wire[0]!.data), [AuthMethod.HYBRID_INIT_RSA]);
  // the client signs nothing: AM3 is encrypted, its size tells a HASH from a 256-byte signature
  const am3 = hy.wire.filter((w) => w.from === 'a' && decodeHeader(w.data).exchangeType === 4)[1]!;
  assert.ok(am3.data.length < 200, `AM3 of ${am3.data.length} bytes holds a HASH, not a 2048-bit signature`);
  assert.equal(hy.ev('b', 'xauth-done')[0]?.ok, true);
  assert.equal(hy.a.ipsecSas().length, 1);
});

test('status names the remote-access methods: xauth-psk, xauth-rsa-resp, hybrid-rsa', () => {
  const t = { encryption: 7, keyLength: 256, hash: 4, group: 14 };
  assert.equal(ikeTransformName({ ...t, auth: AuthMethod.XAUTH_INIT_PRESHARED }), 'aes256-sha256-modp2048 xauth-psk');
  assert.equal(ikeTransformName({ ...t, auth: AuthMethod.XAUTH_RESP_RSA }), 'aes256-sha256-modp2048 xauth-rsa-resp');
  assert.equal(ikeTransformName({ ...t, auth: AuthMethod.HYBRID_INIT_RSA }), 'aes256-sha256-modp2048 hybrid-rsa');
});

test('the group name as ID_KEY_ID (vpnc, macOS/iOS "Group Name"): matched byte for byte in Aggressive Mode; another group is refused', () => {
  const am: ConnOverrides = { exchange: 'aggressive', allowAggressivePsk: true };
  const group = { type: 'key-id', value: enc.encode('vpngroup') } as const;
  const ok = raPair('am-keyid', { ...am, localId: group, xauth: CLIENT }, { ...am, remoteId: group, xauth: { role: 'server' } });
  ok.a.initiate(ok.now, 'c');
  backend(ok, 'b');
  const am1 = decodeMessage(ok.wire[0]!.data).payloads.find((p) => p.type === 'ID');
  assert.ok(am1?.type === 'ID' && am1.idType === 11 && Buffer.from(am1.data).toString() === 'vpngroup');
  assert.equal(ok.ev('b', 'xauth-done')[0]?.ok, true);
  assert.deepEqual(ok.b.isakmpSas()[0]?.peerId, group);

  const other = raPair('am-keyid-other', { ...am, localId: { type: 'key-id', value: enc.encode('othergroup') }, xauth: CLIENT }, { ...am, remoteId: group, xauth: { role: 'server' } });
  other.a.initiate(other.now, 'c');
  other.run(3000);
  assert.equal(other.ev('b', 'phase1-established').length, 0);
});
