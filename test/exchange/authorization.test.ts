// Issue 9: an authenticated peer acts only within what it proved for its ISAKMP SA (docs/engine.md
// "Authorization", docs/security.md). Each test is named after the item it covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage } from '../../src/codec/index.js';
import { subnetSelector } from '../../src/exchange/index.js';
import type { Address, Connection, Identity } from '../../src/exchange/index.js';
import { Pair, anotherQuickMode, conn } from '../helpers/pair.js';
import { Mesh } from '../helpers/mesh.js';

const enc = (s: string) => new TextEncoder().encode(s);
const fqdn = (value: string): Identity => ({ type: 'fqdn', value });
const ESP = [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1 }] as const;
const IKE = [{ encryption: 7, keyLength: 128, hash: 4, group: 14 }] as const;

function psk(name: string, local: Address, remote: Address, secret: string, over: Partial<Connection> = {}): Connection {
  return { name, local, remote, auth: 'psk', psk: enc(secret), ike: [...IKE], ipsec: [...ESP], ...over } as Connection;
}

test('issue 9.1: a Quick Mode never picks a connection whose PSK and identity the peer did not prove', () => {
  const pair = new Pair({ seed: 'authz-qm-psk' });
  const gw = pair.addrB;
  const any = { address: '%any', port: 500 };
  // the gateway: a guest connection for this peer's address, an admin connection for anyone
  // with the admin PSK and the admin identity
  pair.b.setConnection(psk('guest', gw, pair.addrA, 'guest secret', { remoteId: fqdn('guest.example'), localTs: subnetSelector('10.1.0.0', 24), remoteTs: subnetSelector('192.0.2.1', 32) }));
  pair.b.setConnection(psk('admin', gw, any, 'admin secret', { remoteId: fqdn('admin.example'), localTs: subnetSelector('10.0.0.0', 8), remoteTs: subnetSelector('192.0.2.1', 32) }));
  // the attacker holds the guest credentials and asks for the admin network
  pair.a.setConnection(psk('c', pair.addrA, gw, 'guest secret', { localId: fqdn('guest.example'), localTs: subnetSelector('192.0.2.1', 32), remoteTs: subnetSelector('10.0.0.0', 8), keyingTries: 1 }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  assert.equal(pair.ev('b', 'phase1-established').length, 1, 'phase 1 under guest');
  assert.equal(pair.ev('b', 'phase1-established')[0]!.sa.connection, 'guest');
  assert.equal(pair.b.ipsecSas().length, 0, 'no IPsec SA under admin');
  assert.equal(pair.ev('b', 'ipsec-sa-established').length, 0);
  const refusal = pair.ev('b', 'dropped').find((d) => d.notify === 18);
  assert.ok(refusal, 'refused with INVALID_ID_INFORMATION (selectors outside the connection)');
  // control: the same gateway gives the guest network to the guest
  const ok = new Pair({ seed: 'authz-qm-psk-ok' });
  ok.b.setConnection(psk('guest', ok.addrB, ok.addrA, 'guest secret', { remoteId: fqdn('guest.example'), localTs: subnetSelector('10.1.0.0', 24), remoteTs: subnetSelector('192.0.2.1', 32) }));
  ok.b.setConnection(psk('admin', ok.addrB, any, 'admin secret', { remoteId: fqdn('admin.example'), localTs: subnetSelector('10.0.0.0', 8), remoteTs: subnetSelector('192.0.2.1', 32) }));
  ok.a.setConnection(psk('c', ok.addrA, ok.addrB, 'guest secret', { localId: fqdn('guest.example'), localTs: subnetSelector('192.0.2.1', 32), remoteTs: subnetSelector('10.1.0.0', 24) }));
  ok.a.initiate(ok.now, 'c');
  ok.run(5000);
  assert.equal(ok.b.ipsecSas().length, 1);
  assert.equal(ok.b.ipsecSas()[0]!.connection, 'guest');
});

const CERTS = 'test/vectors/crypto/certs';
const der = (pem: string) => new Uint8Array(new X509Certificate(readFileSync(pem)).raw);

test('issue 9.1: a certificate accepted for rw-staff never gets an IPsec SA under rw-admin', { skip: !existsSync(join(CERTS, 'leaf.key')) && 'test certificates missing' }, () => {
  const when = () => Date.parse('2027-06-01T00:00:00Z');
  const pair = new Pair({ seed: 'authz-qm-rsa', a: { certificateTime: when }, b: { certificateTime: when } });
  const ca = der(join(CERTS, 'ca.pem'));
  const leaf = { privateKey: createPrivateKey(readFileSync(join(CERTS, 'leaf.key'))), certificate: der(join(CERTS, 'leaf.pem')), chain: [der(join(CERTS, 'int.pem'))] };
  // the gateway signs with the same leaf for brevity (its own key; the peer trusts the CA)
  const gwCred = { ...leaf, trusted: [ca] };
  const any = { address: '%any', port: 500 };
  const base = { auth: 'rsa-sig' as const, rsa: gwCred, ike: [...IKE], ipsec: [...ESP], localId: fqdn('peer-a.peers.test') };
  pair.b.setConnection({ name: 'rw-staff', local: pair.addrB, remote: any, ...base, remoteId: fqdn('peer-a.peers.test'), localTs: subnetSelector('10.1.0.0', 24) });
  pair.b.setConnection({ name: 'rw-admin', local: pair.addrB, remote: any, ...base, remoteId: fqdn('admin.peers.test'), localTs: subnetSelector('10.0.0.0', 8) });
  pair.a.setConnection({ name: 'c', local: pair.addrA, remote: pair.addrB, ...base, rsa: { ...leaf, trusted: [ca] }, remoteId: fqdn('peer-a.peers.test'), remoteTs: subnetSelector('10.0.0.0', 8), keyingTries: 1 });
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  assert.equal(pair.ev('b', 'phase1-established').length, 1);
  assert.equal(pair.ev('b', 'phase1-established')[0]!.sa.connection, 'rw-staff');
  assert.equal(pair.b.ipsecSas().length, 0, 'no IPsec SA under rw-admin');
});

/** A gateway with one road-warrior connection; `n` clients behind one NAT, each its own identity. */
function roadWarriors(identities: string[], shared?: string): Mesh {
  const mesh = new Mesh();
  const gw = { address: '198.51.100.1', port: 500 };
  const any = { address: '%any', port: 500 };
  mesh.add('gw', gw);
  mesh.ep('gw').setConnection(psk('rw', gw, any, 'group secret', { remoteId: { type: 'any' }, localTs: subnetSelector(gw.address, 32), remoteTs: subnetSelector('10.9.0.0', 16) }));
  identities.forEach((id, i) => {
    const name = `c${i}`;
    const addr = { address: '10.9.0.' + (i + 2), port: 500 };
    mesh.add(name, addr, {}, { address: '203.0.113.7', basePort: 40000 + 10 * i });
    mesh.ep(name).setConnection(psk('rw', addr, gw, 'group secret', { localId: fqdn(shared ?? id) }));
  });
  return mesh;
}

test('issue 9.2: INITIAL-CONTACT deletes only the SAs of the same identity, never of another user behind the same NAT', () => {
  const mesh = roadWarriors(['alice.example', 'bob.example']);
  mesh.ep('c0').initiate(mesh.now, 'rw');
  mesh.run(3000);
  mesh.ep('c1').initiate(mesh.now, 'rw');
  mesh.run(3000);
  const gw = mesh.ep('gw');
  assert.equal(gw.isakmpSas().length, 2, 'two users behind one NAT, two ISAKMP SAs');
  assert.equal(gw.ipsecSas().length, 2);
  // bob's INITIAL-CONTACT (sent by its initiator with its first phase 1) left alice alone
  assert.equal(mesh.ev('gw', 'deleted').length, 0);
  assert.equal(mesh.ep('c0').ipsecSas().length, 1);
  // alice restarts (a new engine, same identity, same NAT mapping): her old SAs go, bob's stay
  mesh.add('c0', { address: '10.9.0.2', port: 500 }, {}, { address: '203.0.113.7', basePort: 40000 }, 'restarted');
  mesh.ep('c0').setConnection(psk('rw', { address: '10.9.0.2', port: 500 }, { address: '198.51.100.1', port: 500 }, 'group secret', { localId: fqdn('alice.example') }));
  mesh.ep('c0').initiate(mesh.now, 'rw');
  mesh.run(3000);
  const deleted = mesh.ev('gw', 'deleted');
  assert.ok(deleted.length >= 2, 'alice\'s old ISAKMP SA and IPsec SA deleted');
  const bobSa = gw.isakmpSas().find((s) => s.peerId && 'value' in s.peerId && s.peerId.value === 'bob.example');
  assert.ok(bobSa, 'bob\'s ISAKMP SA survives');
  assert.equal(gw.ipsecSas().filter((s) => s.isakmpSa === bobSa.id || s.remote.port === 40011 || s.remote.port === 40010).length, 1, 'bob\'s IPsec SA survives');
  assert.equal(gw.isakmpSas().length, 2);
});

test('issue 9.2: behind a NAT, INITIAL-CONTACT of one port never deletes the SAs of another port with the same identity', () => {
  // two devices of one user (same identity, same group PSK) behind one NAT
  const mesh = roadWarriors(['dev1', 'dev2'], 'carol.example');
  mesh.ep('c0').initiate(mesh.now, 'rw');
  mesh.run(3000);
  mesh.ep('c1').initiate(mesh.now, 'rw');
  mesh.run(3000);
  assert.equal(mesh.ep('gw').isakmpSas().length, 2);
  assert.equal(mesh.ep('gw').ipsecSas().length, 2);
  assert.equal(mesh.ev('gw', 'deleted').length, 0);
});

test('issue 9.5: a connection switch at Main Mode message 5 re-checks the phase-1 transform against the new connection', () => {
  const pair = new Pair({ seed: 'authz-switch' });
  const weak = [{ encryption: 7, keyLength: 128, hash: 2, group: 2 }];
  const strong = [{ encryption: 7, keyLength: 256, hash: 4, group: 15 }];
  // both connections for this address, same PSK: the first (weak groups allowed) is chosen at MM1,
  // the identity then points at the second, which allows only modp3072
  pair.b.setConnection(psk('legacy', pair.addrB, pair.addrA, 'shared', { ike: weak, allowWeakGroups: true, remoteId: fqdn('old.example') }));
  pair.b.setConnection(psk('modern', pair.addrB, pair.addrA, 'shared', { ike: strong, remoteId: fqdn('new.example') }));
  pair.a.setConnection(psk('c', pair.addrA, pair.addrB, 'shared', { ike: weak, allowWeakGroups: true, localId: fqdn('new.example'), keyingTries: 1 }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  assert.equal(pair.ev('b', 'phase1-established').length, 0, 'no modp1024 ISAKMP SA under the modp3072-only connection');
  const d = pair.ev('b', 'dropped').find((e) => e.notify === 14);
  assert.ok(d, 'refused with NO_PROPOSAL_CHOSEN');
  assert.match(d.reason, /modern/);
  // control: with an identity of the legacy connection it works
  const ok = new Pair({ seed: 'authz-switch-ok' });
  ok.b.setConnection(psk('legacy', ok.addrB, ok.addrA, 'shared', { ike: weak, allowWeakGroups: true, remoteId: fqdn('old.example') }));
  ok.b.setConnection(psk('modern', ok.addrB, ok.addrA, 'shared', { ike: strong, remoteId: fqdn('new.example') }));
  ok.a.setConnection(psk('c', ok.addrA, ok.addrB, 'shared', { ike: weak, allowWeakGroups: true, localId: fqdn('old.example') }));
  ok.a.initiate(ok.now, 'c');
  ok.run(5000);
  assert.equal(ok.ev('b', 'phase1-established')[0]?.sa.connection, 'legacy');
});

test('issue 9.10: Aggressive Mode answers an unknown identity and a refused known one alike (NO_PROPOSAL_CHOSEN)', () => {
  const answers: number[] = [];
  for (const id of ['unknown.example', 'known.example']) {
    const pair = new Pair({ seed: `authz-enum-${id}` });
    pair.a.setConnection(conn(pair, 'a', { exchange: 'aggressive', localId: fqdn(id), keyingTries: 1 }));
    // known.example has a connection, but Aggressive Mode PSK is not allowed for it
    pair.b.setConnection(conn(pair, 'b', { exchange: 'aggressive', remoteId: fqdn('known.example') }));
    pair.a.initiate(pair.now, 'c');
    pair.run(100);
    const r = decodeMessage(pair.sentBy('b')[0]!.data);
    assert.equal(r.payloads.length, 1);
    answers.push((r.payloads[0] as { notifyType: number }).notifyType);
    assert.equal(pair.b.isakmpSas().length, 0);
  }
  assert.deepEqual(answers, [14, 14]);
});

// ---- issue 9.3: replays outside any window, and moves only on proof of freshness

function established(seed: string, over: { b?: Partial<import('../../src/exchange/index.js').EndpointOptions> } = {}): Pair {
  const pair = new Pair({ seed, b: over.b });
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.b.ipsecSas().length, 1);
  return pair;
}

test('issue 9.3: a Quick Mode first message replayed after 40 later Quick Modes is refused', () => {
  const pair = established('replay-qm-40');
  for (let i = 0; i < 40; i++) {
    anotherQuickMode(pair, 'a');
    pair.run(200);
  }
  assert.equal(pair.b.ipsecSas().length, 41);
  // the second Quick Mode's first message (the very first message ID is kept apart anyway)
  const first = pair.sentBy('a').filter((w) => w.data[18] === 32 && w.data.length > 100)[1]!;
  const n = pair.sentBy('b').length;
  pair.clearEvents();
  pair.inject('b', first.data);
  assert.equal(pair.sentBy('b').length, n, 'no HASH(2) for the replay');
  assert.equal(pair.ev('b', 'dropped')[0]!.notify, 9);
  assert.equal(pair.b.ipsecSas().length, 41);
});

test('issue 9.3: an R-U-THERE replayed after later probes is refused (older sequence number)', () => {
  const pair = established('replay-dpd');
  const sa = pair.a.isakmpSas()[0]!.id;
  pair.a.dpd(pair.now, sa);
  pair.run(100);
  const probe1 = pair.sentBy('a').at(-1)!.data;
  for (let i = 0; i < 40; i++) {
    pair.a.dpd(pair.now, sa);
    pair.run(100);
  }
  assert.equal(pair.ev('a', 'notify').filter((e) => e.notify === 36137).length, 41, 'every probe answered');
  const n = pair.sentBy('b').length;
  pair.clearEvents();
  pair.inject('b', probe1);
  assert.equal(pair.sentBy('b').length, n, 'no R-U-THERE-ACK for the replay');
  assert.equal(pair.ev('b', 'dropped')[0]!.code, 'DPD_REPLAY');
});

const NAT_PUBLIC = '203.0.113.5';

function behindNat(seed: string): Pair {
  const pair = new Pair({ seed });
  pair.nat = { address: NAT_PUBLIC, basePort: 40000 };
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b', {
    remote: { address: '%any', port: 500 },
    remoteId: { type: 'ipv4', value: pair.addrA.address },
    remoteTs: { family: 4, start: pair.addrA.address, end: pair.addrA.address, protocol: 0, port: 0 },
  }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  assert.equal(pair.b.ipsecSas().length, 1);
  assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 });
  return pair;
}

test('issue 9.3: an authentic message never delivered before, replayed from a spoofed port, does not move the ISAKMP SA or its IPsec SAs', () => {
  for (const kind of ['R-U-THERE', 'Quick Mode HASH(1)'] as const) {
    const pair = behindNat(`spoof-${kind}`);
    // an on-path attacker keeps a's next message from b ...
    let captured: Uint8Array | undefined;
    pair.tap = (from, data) => {
      if (from === 'a' && !captured) {
        captured = data;
        return null;
      }
      return data;
    };
    if (kind === 'R-U-THERE') pair.a.dpd(pair.now, pair.a.isakmpSas()[0]!.id);
    else anotherQuickMode(pair, 'a');
    pair.run(10);
    pair.tap = undefined;
    assert.ok(captured);
    // ... and plays it from another port
    pair.clearEvents();
    pair.inject('b', captured, { address: NAT_PUBLIC, port: 6666 });
    pair.run(1);
    assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 }, `${kind}: the ISAKMP SA stays`);
    assert.equal(pair.ev('b', 'ipsec-sa-updated').length, 0, `${kind}: no IPsec SA moves`);
    assert.ok(pair.b.ipsecSas().every((s) => s.remote.port === 40001));
  }
});

test('issue 9.3: a real NAT mapping change moves the SA once a Quick Mode completes (HASH(3)) or our DPD probe is answered', () => {
  for (const proof of ['Quick Mode', 'DPD'] as const) {
    const pair = behindNat(`rebind-${proof}`);
    pair.natRebind(50000);
    pair.clearEvents();
    if (proof === 'Quick Mode') {
      anotherQuickMode(pair, 'a');
    } else {
      // the peer's own probe comes from the new port: answered there, the SA does not move yet
      pair.a.dpd(pair.now, pair.a.isakmpSas()[0]!.id);
      pair.run(100);
      assert.equal(pair.ev('a', 'notify').filter((e) => e.notify === 36137).length, 1, 'the ACK reached the new port');
      assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 40001 });
      // our probe goes to the old mapping and to the new one; the ACK from the new one moves the SA
      pair.b.dpd(pair.now, pair.b.isakmpSas()[0]!.id);
    }
    pair.run(2000);
    assert.deepEqual(pair.b.isakmpSas()[0]!.remote, { address: NAT_PUBLIC, port: 50000 }, `${proof}: moved`);
    assert.ok(pair.ev('b', 'ipsec-sa-updated').length >= 1);
  }
});

test('issue 9.3: the message-ID budget: near it the responder retires the ISAKMP SA, past it nothing is accepted', () => {
  const pair = established('budget', { b: { messageIdBudget: 40 } });
  for (let i = 0; i < 30; i++) {
    anotherQuickMode(pair, 'a');
    pair.run(200);
  }
  // retired at 24 message IDs (budget − 16): Delete sent, a renegotiated for the rest
  const del = pair.ev('b', 'deleted').filter((d) => d.kind === 'isakmp');
  assert.equal(del.length, 1);
  assert.equal(del[0]!.by, 'local');
  assert.equal(pair.b.ipsecSas().length, 31, 'every Quick Mode still got its IPsec SA');
  assert.ok(pair.b.isakmpSas().length >= 1);
});

// ---- issue 9.6: what one authenticated peer may hold

test('issue 9.6: one peer identity opening ISAKMP SAs without end holds at most the per-identity cap', () => {
  for (const samePort of [true, false]) {
    const mesh = new Mesh();
    const gw = { address: '198.51.100.1', port: 500 };
    mesh.add('gw', gw, { maxIsakmpSasPerIdentity: 5 });
    mesh.ep('gw').setConnection(psk('rw', gw, { address: '%any', port: 500 }, 'group secret', { remoteId: { type: 'any' }, localTs: subnetSelector(gw.address, 32), remoteTs: subnetSelector('10.9.0.0', 16) }));
    const addr = { address: '10.9.0.2', port: 500 };
    for (let i = 0; i < 12; i++) {
      // the attacker's loop: a new engine each time (no INITIAL-CONTACT), same identity
      mesh.add('c', addr, {}, { address: '203.0.113.7', basePort: samePort ? 40000 : 40000 + 10 * i }, i);
      mesh.ep('c').setConnection(psk('rw', addr, gw, 'group secret', { localId: fqdn('mallory.example'), initialContact: false, keyingTries: 1 }));
      mesh.ep('c').initiate(mesh.now, 'rw');
      mesh.run(3000);
    }
    const held = mesh.ep('gw').isakmpSas().filter((s) => s.state === 'established').length;
    assert.equal(held, 5, `${samePort ? 'same port' : 'new ports'}: 5 ISAKMP SAs of one identity`);
    const limit = mesh.ev('gw', 'dropped').filter((d) => d.code === 'PEER_SA_LIMIT');
    assert.equal(limit.length, 7);
    assert.match(limit[0]!.reason, samePort ? /max_isakmp_sas_per_identity.*oldest is replaced/ : /max_isakmp_sas_per_identity.*refused/);
  }
});

test('issue 9.6: past the per-address cap a first message is refused before any Diffie-Hellman work', () => {
  const mesh = new Mesh();
  const gw = { address: '198.51.100.1', port: 500 };
  mesh.add('gw', gw, { maxIsakmpSasPerAddress: 3 });
  mesh.ep('gw').setConnection(psk('rw', gw, { address: '%any', port: 500 }, 'group secret', { remoteId: { type: 'any' }, localTs: subnetSelector(gw.address, 32), remoteTs: subnetSelector('10.9.0.0', 16) }));
  for (let i = 0; i < 5; i++) {
    const addr = { address: '10.9.0.' + (i + 2), port: 500 };
    mesh.add(`c${i}`, addr, {}, { address: '203.0.113.7', basePort: 40000 + 10 * i });
    mesh.ep(`c${i}`).setConnection(psk('rw', addr, gw, 'group secret', { localId: fqdn(`user${i}.example`), keyingTries: 1 }));
    mesh.ep(`c${i}`).initiate(mesh.now, 'rw');
    mesh.run(3000);
  }
  assert.equal(mesh.ep('gw').isakmpSas().filter((s) => s.state === 'established').length, 3);
  const refused = mesh.ev('gw', 'dropped').filter((d) => d.code === 'PEER_SA_LIMIT');
  assert.ok(refused.length >= 2);
  assert.match(refused[0]!.reason, /max_isakmp_sas_per_address/);
});

// ---- issue 9.7: Aggressive Mode floods

test('issue 9.7: a spoofed Aggressive Mode flood gets answers only within the rate; Main Mode and peers we already serve get through', async () => {
  const { Endpoint } = await import('../../src/exchange/index.js');
  const { seededRandom } = await import('../helpers/pair.js');
  const pair = new Pair({ seed: 'am-flood', b: { aggressiveRate: { perSecond: 50, burst: 20, perSourcePerSecond: 5, perSourceBurst: 5 }, halfOpenTotal: 100000, halfOpenPerPeer: 100000 } });
  const am = { exchange: 'aggressive' as const, allowAggressivePsk: true };
  const any = { address: '%any', port: 500 };
  pair.b.setConnection(conn(pair, 'b', { name: 'mm' }));
  pair.b.setConnection(conn(pair, 'b', { ...am, name: 'am', remote: any, localId: fqdn('east.example'), remoteId: fqdn('west.example'), localTs: subnetSelector('10.1.0.0', 16), remoteTs: subnetSelector('10.2.0.0', 16) }));
  pair.a.setConnection(conn(pair, 'a', { name: 'mm' }));
  pair.a.setConnection(conn(pair, 'a', { ...am, name: 'am', localId: fqdn('west.example'), remoteId: fqdn('east.example'), localTs: subnetSelector('10.2.0.0', 16), remoteTs: subnetSelector('10.1.0.0', 16), keyingTries: 1 }));
  // one real AM1 (the right group name), replayed with fresh cookies from 5,000 spoofed sources over 10 s
  const gen = new Endpoint({ random: seededRandom('flood-gen') });
  gen.setConnection(conn(pair, 'a', { ...am, name: 'g', localId: fqdn('west.example'), remoteId: fqdn('east.example') }));
  gen.initiate(0, 'g');
  const am1 = gen.pollTransmit()!.data;
  for (let i = 0; i < 5000; i++) {
    const m = Uint8Array.from(am1);
    m[0] = 1 + (i >> 8);
    m[1] = i & 255;
    pair.now += 2; // 500 per second
    pair.inject('b', m, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 500 });
    // the legitimate peer: Main Mode at the start of the flood, then Aggressive Mode from the
    // same (now known) address in the middle of it
    if (i === 100) pair.a.initiate(pair.now, 'mm');
    if (i === 2500) pair.a.initiate(pair.now, 'am');
    if (i % 5 === 0) pair.run(1);
  }
  const floodSeconds = pair.now / 1000;
  pair.run(10_000);
  const answers = pair.sentBy('b').filter((w) => w.data[18] === 4 && decodeMessage(w.data).payloads.length > 3).length;
  const limited = pair.ev('b', 'dropped').filter((d) => d.code === 'RATE_LIMITED').length;
  console.log(`# AM flood: 5000 spoofed AM1 in 10 s; ${answers} answered (DH computed), ${limited} dropped by the rate limit`);
  // the spoofed ones within burst + rate × time (the legitimate peer, a known source, on top)
  assert.ok(answers <= 20 + 50 * floodSeconds + 1, `answers within burst + rate × time (${floodSeconds} s), got ${answers}`);
  assert.ok(limited >= 4000);
  assert.deepEqual(pair.ev('a', 'phase1-established').map((e) => e.sa.connection), ['mm', 'am'], 'Main Mode, then Aggressive Mode from a known address');
  assert.equal(pair.ev('a', 'ipsec-sa-established').length, 2);
  assert.equal(pair.ev('a', 'phase1-established')[1]!.sa.exchange, 'aggressive');
});
