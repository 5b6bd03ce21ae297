// Issue 10: every failure explained on the side that detects it, and the other side told where
// RFC 2408 allows it: a stable cause (FailureCause) on the `failed` / `dropped` event and a reason
// in the operator's words with what to check; the error notify on the wire; unauthenticated
// notifies named (NO_PROPOSAL_CHOSEN, not "notify 14"), marked unauthenticated, never acted upon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodeMessage } from '../../src/codec/index.js';
import { IpcompTransformId, NotifyType, ProtocolId } from '../../src/constants/index.js';
import { parseIpsecProposal, type Connection, type EngineEvent } from '../../src/exchange/index.js';
import { Pair, conn } from '../helpers/pair.js';
import { buildIkeSa, buildIpsecSa, selectIpsec } from '../../src/exchange/proposals.js';
import { ikeRefusalText, ipsecRefusalText } from '../../src/exchange/offer-text.js';

type Ev = EngineEvent & { cause?: string; reason?: string };

/** The failed/dropped events of one side that carry a cause. */
function caused(pair: Pair, side: 'a' | 'b'): Ev[] {
  return (pair.events[side] as Ev[]).filter((e) => (e.type === 'failed' || e.type === 'dropped') && e.cause !== undefined);
}

/** The clear Informational notifies a side sent: [notify type, responder cookie zero]. */
function clearNotifies(pair: Pair, side: 'a' | 'b'): [number, boolean][] {
  return pair
    .sentBy(side)
    .filter((w) => decodeHeader(w.data).exchangeType === 5 && (decodeHeader(w.data).flags & 1) === 0)
    .map((w) => {
      const m = decodeMessage(w.data);
      return [(m.payloads[0] as { notifyType: number }).notifyType, m.header.responderCookie.every((b) => b === 0)];
    });
}

function run(seed: string, a: Partial<Connection> & Record<string, unknown>, b: Partial<Connection> & Record<string, unknown>, ms = 200_000): Pair {
  const pair = new Pair({ seed });
  pair.a.setConnection(conn(pair, 'a', { keyingTries: 1, ...a } as never));
  pair.b.setConnection(conn(pair, 'b', b as never));
  pair.a.initiate(pair.now, 'c');
  pair.run(ms);
  return pair;
}

test('PSK mismatch, Main Mode: the responder names it at MM5 and says so in clear; the initiator names the peer\'s AUTHENTICATION_FAILED', () => {
  const pair = run('f-psk-mm', { psk: new TextEncoder().encode('not the same key') }, {});
  const b = caused(pair, 'b');
  assert.equal(b.length, 1, JSON.stringify(b));
  assert.deepEqual([b[0]!.type, b[0]!.cause], ['failed', 'PSK_MISMATCH']);
  assert.match(b[0]!.reason!, /^probable pre-shared key mismatch: MM5 from the peer does not decrypt to a valid payload chain \(.*\); check that both sides use the same psk for this peer$/);
  assert.deepEqual(clearNotifies(pair, 'b'), [[NotifyType.AUTHENTICATION_FAILED, false]], 'one clear notify with both cookies');
  const a = caused(pair, 'a');
  assert.deepEqual(a.map((e) => [e.type, e.cause]), [['dropped', 'PEER_REFUSED'], ['failed', 'PEER_REFUSED'], ['failed', 'PEER_REFUSED']]);
  assert.match(a[0]!.reason!, /^the peer refused the phase 1: AUTHENTICATION_FAILED \(unauthenticated notify\): probable pre-shared key mismatch: the peer could not decrypt or verify our authentication; check that both sides use the same psk for this peer \(not acted upon/);
  // not acted upon: a retransmitted MM5 until its limit, then failed with what the peer said
  assert.ok(pair.sentBy('a').filter((w) => decodeHeader(w.data).exchangeType === 2).length >= 5);
  assert.match(a[1]!.reason!, /^retransmit limit reached, peer does not answer; the peer refused the phase 1: AUTHENTICATION_FAILED/);
});

test('PSK mismatch, Aggressive Mode: the initiator detects it at AM2 (HASH_R) and tells the responder in clear', () => {
  const am = { exchange: 'aggressive' as const, localId: { type: 'fqdn' as const, value: 'a.example' }, remoteId: { type: 'fqdn' as const, value: 'b.example' } };
  const pair = run('f-psk-am', { ...am, psk: new TextEncoder().encode('not the same key') }, { exchange: 'aggressive', localId: am.remoteId, remoteId: am.localId, allowAggressivePsk: true });
  const a = caused(pair, 'a');
  assert.deepEqual([a[0]!.type, a[0]!.cause], ['failed', 'PSK_MISMATCH']);
  assert.equal(a[0]!.reason, 'probable pre-shared key mismatch: HASH_R from the peer does not verify; check that both sides use the same psk for this peer');
  assert.deepEqual(clearNotifies(pair, 'a'), [[NotifyType.AUTHENTICATION_FAILED, false]]);
  // the responder learns it (unauthenticated), and its half-open phase 1 fails naming it
  const b = caused(pair, 'b');
  assert.deepEqual(b.map((e) => [e.type, e.cause]), [['dropped', 'PEER_REFUSED'], ['failed', 'PEER_REFUSED']]);
  assert.match(b[1]!.reason!, /^phase 1 not completed in time \(the peer stopped answering\); the peer refused the phase 1: AUTHENTICATION_FAILED \(unauthenticated notify\): probable pre-shared key mismatch/);
});

test('PSK mismatch, Aggressive Mode, a silent initiator (vpnc): the responder\'s half-open phase 1 fails naming the pre-shared key', () => {
  // vpnc checks HASH_R, prints "check group password!" and stops without a notify
  const am = { exchange: 'aggressive' as const, localId: { type: 'fqdn' as const, value: 'a.example' }, remoteId: { type: 'fqdn' as const, value: 'b.example' } };
  const pair = new Pair({ seed: 'f-psk-am-silent', a: { sendErrorNotifies: false } });
  pair.a.setConnection(conn(pair, 'a', { keyingTries: 1, ...am, psk: new TextEncoder().encode('not the same key') } as never));
  pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', localId: am.remoteId, remoteId: am.localId, allowAggressivePsk: true } as never));
  pair.a.initiate(pair.now, 'c');
  pair.run(200_000);
  assert.deepEqual(clearNotifies(pair, 'a'), [], 'the initiator says nothing');
  const b = caused(pair, 'b');
  assert.deepEqual(b.map((e) => [e.type, e.cause]), [['failed', 'NO_ANSWER']]);
  assert.equal(b[0]!.reason, 'phase 1 not completed in time: the initiator sent no Aggressive Mode message 3 after our message 2; a client stops there when our HASH_R does not verify, so check that both sides use the same pre-shared key (group password) for this peer');
});

test('no proposal chosen in phase 1: the responder names the peer\'s offer and ours with the weak-group hint; the initiator names NO_PROPOSAL_CHOSEN and its own offer', () => {
  const pair = run('f-nopc', { ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 2 }], allowWeakGroups: true }, { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }, { encryption: 7, keyLength: 256, hash: 4, group: 19 }] });
  const b = caused(pair, 'b');
  assert.equal(b[0]!.type, 'dropped');
  assert.equal(b[0]!.cause, 'NO_PROPOSAL_CHOSEN');
  assert.equal(b[0]!.reason, 'no proposal chosen for connection c: peer offered aes256-sha1-modp1024 (modp1024 is weak: allow_weak_groups), we accept aes128-sha256-modp2048, aes256-sha256-ecp256 (compare ike on both sides)');
  assert.deepEqual(clearNotifies(pair, 'b')[0], [NotifyType.NO_PROPOSAL_CHOSEN, true]);
  const a = caused(pair, 'a');
  assert.match(a[0]!.reason!, /^the peer refused the phase 1: NO_PROPOSAL_CHOSEN \(unauthenticated notify\): the peer accepts none of our phase-1 proposals \(we offered aes256-sha1-modp1024\)/);
  assert.equal(a.at(-1)!.cause, 'PEER_REFUSED');
});

test('a refusal of our MM1 that carries the responder cookie the peer picked (as charon does) is still ours: named, PEER_REFUSED', () => {
  const pair = new Pair({ seed: 'f-nopc-rc' });
  pair.a.setConnection(conn(pair, 'a', { keyingTries: 1, ike: [{ encryption: 7, keyLength: 256, hash: 2, group: 14 }] } as never));
  pair.b.setConnection(conn(pair, 'b', { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }] } as never));
  // b's clear NO_PROPOSAL_CHOSEN goes out with a responder cookie of b's own (bytes 8-15 of the header)
  let rewritten = 0;
  pair.tap = (from, data) => {
    if (from !== 'b' || decodeHeader(data).exchangeType !== 5) return data;
    const out = new Uint8Array(data);
    out.set([0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58], 8);
    rewritten++;
    return out;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(200_000);
  assert.ok(rewritten >= 1);
  const a = caused(pair, 'a');
  assert.equal(a[0]!.type, 'dropped');
  assert.match(a[0]!.reason!, /^the peer refused the phase 1: NO_PROPOSAL_CHOSEN \(unauthenticated notify\): the peer accepts none of our phase-1 proposals \(we offered aes256-sha1-modp2048\)/);
  assert.deepEqual([a.at(-1)!.type, a.at(-1)!.cause], ['failed', 'PEER_REFUSED']);
});

test('PSK mismatch against a silent peer (charon drops an MM5 it cannot decrypt): each keying try is a NO_ANSWER naming the probable key mismatch, not silence until the last', () => {
  const pair = new Pair({ seed: 'f-psk-silent', b: { sendErrorNotifies: false } });
  pair.a.setConnection(conn(pair, 'a', { keyingTries: 2, psk: new TextEncoder().encode('not the same key') } as never));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(400_000);
  assert.equal(clearNotifies(pair, 'b').length, 0, 'the peer says nothing');
  const a = caused(pair, 'a');
  const retry = a.find((e) => e.type === 'dropped');
  assert.ok(retry, JSON.stringify(a));
  assert.equal(retry.cause, 'NO_ANSWER');
  assert.equal(retry.reason, 'retransmit limit reached, the peer does not answer our MM5: probable pre-shared key mismatch (a peer that cannot decrypt MM5 drops it silently); check that both sides use the same psk for this peer; keying try 2');
  assert.deepEqual([a.at(-1)!.type, a.at(-1)!.cause], ['failed', 'NO_ANSWER']);
  assert.match(a.at(-1)!.reason!, /does not answer our MM5: probable pre-shared key mismatch/);
});

test('an authentication method mismatch is named too (the offer in words)', () => {
  const offer = buildIkeSa([{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 3);
  assert.equal(ikeRefusalText(offer, [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }], 1, false), 'peer offered aes128-sha256-modp2048, we accept aes128-sha256-modp2048; peer authenticates with rsa, we with psk');
});

test('no proposal chosen in Quick Mode: the responder names the ESP offer and ours (PFS hint); the initiator fails with the authenticated NO_PROPOSAL_CHOSEN', () => {
  const pair = run('f-qm-nopc', { ipsec: [parseIpsecProposal('esp', 'aes256-sha1')] }, { ipsec: [parseIpsecProposal('esp', 'aes128gcm16-modp2048'), parseIpsecProposal('esp', 'aes128-sha256-modp2048')] });
  const b = caused(pair, 'b');
  assert.equal(b.length, 1);
  assert.equal(b[0]!.cause, 'NO_PROPOSAL_CHOSEN');
  assert.equal(b[0]!.reason, 'no Quick Mode proposal chosen for connection c: peer offered esp aes256-sha1, we accept esp aes128gcm16-modp2048, esp aes128-sha256-modp2048; we require PFS (pfs:), the peer offers none (check esp/ah and pfs on both sides)');
  const a = caused(pair, 'a');
  assert.equal(a.length, 1);
  assert.deepEqual([a[0]!.type, a[0]!.cause], ['failed', 'PEER_REFUSED']);
  assert.equal(a[0]!.reason, 'the peer refused the Quick Mode: NO_PROPOSAL_CHOSEN (authenticated notify): the peer accepts none of our Quick Mode proposals (we offered esp aes256-sha1): compare esp/ah and pfs on both sides');
});

test('identity mismatch: the responder says who the peer claimed and whom it expects, and tells the peer under the phase-1 keys', () => {
  const pair = run('f-id', { localId: { type: 'fqdn', value: 'branch7.example' } }, { remoteId: { type: 'fqdn', value: 'branch8.example' } });
  const b = caused(pair, 'b');
  assert.deepEqual([b[0]!.type, b[0]!.cause], ['failed', 'IDENTITY_MISMATCH']);
  assert.equal(b[0]!.reason, "identity mismatch: peer identity does not match the connection: the peer said branch7.example, connection c expects branch8.example (check remote.id here and the peer's own id)");
  // the notify is protected (HDR*, HASH(1), N): the peer reads it, authenticated
  const a = caused(pair, 'a');
  assert.deepEqual([a[0]!.type, a[0]!.cause], ['failed', 'PEER_REFUSED']);
  assert.equal(a[0]!.reason, "the peer refused the phase 1: INVALID_ID_INFORMATION (authenticated notify): the peer does not accept our identity branch7.example: compare our local.id with the peer's remote id for us");
  assert.deepEqual(clearNotifies(pair, 'b'), [], 'nothing in clear');
});

test('an unauthenticated notify outside any negotiation is named, never acted upon', () => {
  const pair = run('f-unauth', {}, {}, 3000);
  assert.equal(pair.a.ipsecSas().length, 1);
  const ic = pair.a.isakmpSas()[0]!.initiatorCookie;
  // a forged clear NO_PROPOSAL_CHOSEN with the established SA's initiator cookie
  const bytes = Uint8Array.from([...ic, ...new Uint8Array(8), 11, 0x10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 12, 0, 0, 0, 1, 1, 0, 0, 14]);
  pair.inject('a', bytes);
  const d = pair.ev('a', 'dropped').at(-1)!;
  assert.equal(d.code, 'UNAUTHENTICATED_INFORMATIONAL');
  assert.equal(d.reason, 'unauthenticated notify NO_PROPOSAL_CHOSEN from the peer ignored (not protected: not acted upon)');
  assert.equal(pair.a.ipsecSas().length, 1);
});

test("a Quick Mode offer of ESP + IPComp under one proposal number (Libreswan's compress=yes) is named as one proposal, with the IPComp hint", () => {
  const esp = buildIpsecSa([parseIpsecProposal('esp', 'aes128-sha256')], [[new Uint8Array([1, 2, 3, 4])]]);
  const p0 = esp.proposals[0]!;
  // RFC 2407 §4.4.5: the IPCOMP protocol with a 2-octet CPI, transform IPCOMP_DEFLATE, the ESP transform's attributes
  const ipcomp = { number: p0.number, protocol: ProtocolId.PROTO_IPCOMP, spi: new Uint8Array([0x12, 0x34]), transforms: [{ number: 1, id: IpcompTransformId.IPCOMP_DEFLATE, attributes: p0.transforms[0]!.attributes }] };
  const offer = { ...esp, proposals: [p0, ipcomp] };
  assert.throws(() => selectIpsec(offer, [parseIpsecProposal('esp', 'aes128-sha256')], false), (e: { notify?: number }) => e.notify === NotifyType.NO_PROPOSAL_CHOSEN);
  assert.equal(
    ipsecRefusalText(offer, [parseIpsecProposal('esp', 'aes128-sha256')], false),
    'peer offered esp aes128-sha256 + ipcomp deflate, we accept esp aes128-sha256; every proposal of the peer asks for IPComp (compression), which isakmp does not negotiate: turn it off on the peer (compress=no)',
  );
  // an offer with an alternative without IPComp gets no hint (and the alternative is taken)
  const both = { ...offer, proposals: [p0, ipcomp, { ...p0, number: p0.number + 1 }] };
  assert.equal(ipsecRefusalText(both, [parseIpsecProposal('esp', 'aes256-sha256')], false), 'peer offered esp aes128-sha256 + ipcomp deflate, esp aes128-sha256, we accept esp aes256-sha256');
  assert.equal(selectIpsec(both, [parseIpsecProposal('esp', 'aes128-sha256')], false).proposalNumber, p0.number + 1);
});
