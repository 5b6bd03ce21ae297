/**
 * RADIUS packets against the RFC 2865 §7.1 example, and the client against a hostile peer on
 * loopback (a UDP socket of this test that answers with forged, unmatched and malformed
 * responses before a good one). The behaviour against a real server is in radius.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { UsageError } from '../../../src/errors.js';
import { buildAccessRequest, buildAccountingRequest, hidePassword, verifyResponse, RadiusPacketError } from '../../../src/daemon/remote-access/radius-packet.js';
import { createRadiusBackend, peerAddressOf } from '../../../src/daemon/remote-access/radius-backend.js';
import type { XauthRequest } from '../../../src/daemon/remote-access/types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SECRET = Buffer.from('xyzzy5461');
const RA = hex('0f403f9473978057bd83d5cb98f4227a');

test('RFC 2865 §7.1: the hidden password and the Access-Accept of the example', () => {
  assert.equal(Buffer.from(hidePassword(Buffer.from('arctangent'), SECRET, RA)).toString('hex'), '0dbe708d93d413ce3196e43f782a0aee');
  const accept = hex('02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03');
  const r = verifyResponse(accept, RA, SECRET);
  assert.equal(r.code, 2);
  assert.deepEqual(r.attributes.map((a) => [a.type, Buffer.from(a.value).toString('hex')]), [[6, '00000001'], [15, '00000000'], [14, 'c0a80103']]);
  // one bit off anywhere: refused
  for (const at of [4, 19, 20, 37]) {
    const bad = Buffer.from(accept);
    bad[at]! ^= 1;
    assert.throws(() => verifyResponse(bad, RA, SECRET), RadiusPacketError, `byte ${at}`);
  }
  assert.throws(() => verifyResponse(accept, RA, Buffer.from('xyzzy5462')), /Response Authenticator does not match/);
  // framing: Length past the datagram, below 20, an attribute running past the end; padding ignored
  assert.throws(() => verifyResponse(accept.subarray(0, 37), RA, SECRET), /Length field \(38\) does not fit the 37-byte datagram/);
  assert.throws(() => verifyResponse(Buffer.concat([accept.subarray(0, 2), hex('0013'), accept.subarray(4)]), RA, SECRET), /Length field \(19\)/);
  assert.equal(verifyResponse(Buffer.concat([accept, hex('00000000')]), RA, SECRET).attributes.length, 3);
  assert.throws(() => verifyResponse(hex('0200001600000000000000000000000000000000 0105'), RA, SECRET), /attribute 1 has a bad length \(5\)/);
  assert.throws(() => verifyResponse(hex('0200001600000000000000000000000000000000 0101'), RA, SECRET), /attribute 1 has a bad length \(1\)/);
  assert.throws(() => verifyResponse(hex('02000015 00000000000000000000000000000000 01'), RA, SECRET), /an attribute header runs past the packet/);
});

test('Access-Request: Message-Authenticator first and right, the password hidden; Accounting-Request authenticator', () => {
  const ra = Buffer.alloc(16, 7);
  const p = buildAccessRequest(42, ra, SECRET, Buffer.from('pw'), [{ type: 1, value: Buffer.from('nemo') }]);
  assert.equal(p[0], 1);
  assert.equal(p[1], 42);
  assert.equal(p.readUInt16BE(2), p.length);
  assert.deepEqual(p.subarray(4, 20), ra);
  assert.deepEqual([p[20], p[21]], [80, 18]);
  const zeroed = Buffer.from(p);
  zeroed.fill(0, 22, 38);
  assert.deepEqual(p.subarray(22, 38), createHmac('md5', SECRET).update(zeroed).digest());
  assert.deepEqual(p.subarray(38, 44), Buffer.from([1, 6, ...Buffer.from('nemo')]));
  assert.deepEqual(p.subarray(44), Buffer.concat([Buffer.from([2, 18]), hidePassword(Buffer.from('pw'), SECRET, ra)]));
  assert.throws(() => buildAccessRequest(1, ra, SECRET, Buffer.alloc(129, 0x61), []), /at most 128 bytes/);

  const a = buildAccountingRequest(9, SECRET, [{ type: 40, value: Buffer.from([0, 0, 0, 1]) }]);
  const z = Buffer.from(a);
  z.fill(0, 4, 20);
  assert.deepEqual(a.subarray(4, 20), createHash('md5').update(z).update(SECRET).digest());
});

test('peer text forms give the address for Calling-Station-Id', () => {
  assert.equal(peerAddressOf('192.0.2.7'), '192.0.2.7');
  assert.equal(peerAddressOf('192.0.2.7:4500'), '192.0.2.7');
  assert.equal(peerAddressOf('[fd00::0:7]:500'), 'fd00::7');
  assert.equal(peerAddressOf('fd00::7'), 'fd00::7');
});

test('options are checked with the operator\'s words', () => {
  const s = { address: '127.0.0.1', port: 1812, secret: Buffer.from('x') };
  const bad = (o: Parameters<typeof createRadiusBackend>[0], want: RegExp) => assert.throws(() => createRadiusBackend(o), (e: unknown) => e instanceof UsageError && want.test(e.message));
  bad({ servers: [] }, /^radius: give at least one server$/);
  bad({ servers: [{ ...s, address: 'radius.example.org' }] }, /server 1: 'radius\.example\.org' is not an IP address \(give the RADIUS server by address, not by name\)/);
  bad({ servers: [s, { ...s, secret: new Uint8Array(0) }] }, /server 2: the shared secret is empty/);
  bad({ servers: [{ ...s, port: 0 }] }, /server 1: the port must be 1\.\.65535/);
  bad({ servers: [{ ...s, port: 65535 }] }, /give the accounting port/);
  bad({ servers: [s], retries: 11 }, /retries must be 0\.\.10/);
  bad({ servers: [s], nasIpAddress: 'fd00::1' }, /is not an IPv4 address/);
  bad({ servers: [s], maxOutstanding: 256 }, /1\.\.255/);
});

// ---- the client against a hostile peer ---------------------------------------------------------

const req = (user: string, password: string): XauthRequest => ({ user, password, connection: 'rw', peer: { address: '198.51.100.9', port: 4500 }, peerId: 'g' });

function bindServer(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** A response to `request` with the right Response Authenticator (and a Message-Authenticator when asked). */
function respond(request: Buffer, code: number, secret: Uint8Array, attrs: Buffer, withMa: boolean): Buffer {
  const body = withMa ? Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16), attrs]) : attrs;
  const p = Buffer.concat([Buffer.from([code, request[1]!, 0, 0]), request.subarray(4, 20), body]);
  p.writeUInt16BE(p.length, 2);
  if (withMa) createHmac('md5', secret).update(p).digest().copy(p, 22);
  createHash('md5').update(p).update(secret).digest().copy(p, 4);
  return p;
}

test('forged, unmatched and malformed responses are dropped; the genuine one is taken', async () => {
  const server = await bindServer();
  const liar = await bindServer();
  const secret = Buffer.from('s3cret');
  const seen: Buffer[] = [];
  server.on('message', (m: Buffer, r: RemoteInfo) => {
    seen.push(m);
    const send = (b: Buffer, from: Socket = server) => from.send(b, r.port, r.address);
    send(Buffer.from('short'));
    send(respond(m, 2, Buffer.from('wrong'), Buffer.alloc(0), false)); // forged: another secret
    const otherId = respond(m, 2, secret, Buffer.alloc(0), false);
    otherId[1] = (otherId[1]! + 1) & 0xff;
    send(otherId); // unmatched identifier
    send(respond(m, 4, secret, Buffer.alloc(0), false)); // not an access response
    send(respond(m, 2, secret, Buffer.alloc(0), false), liar); // right bytes, wrong source
    const badMa = respond(m, 2, secret, Buffer.alloc(0), true);
    badMa[25]! ^= 1; // Message-Authenticator wrong (Response Authenticator recomputed below)
    badMa.fill(0, 4, 20);
    m.subarray(4, 20).copy(badMa, 4);
    createHash('md5').update(badMa).update(secret).digest().copy(badMa, 4);
    send(badMa);
    setTimeout(() => send(respond(m, 2, secret, Buffer.from([8, 6, 10, 9, 8, 7, 18, 7, ...Buffer.from('hello')]), true)), 50);
  });
  const logs: string[] = [];
  const b = createRadiusBackend({ servers: [{ address: '127.0.0.1', port: server.address().port, secret }], timeoutMs: 2000, retries: 0, log: (l, m) => logs.push(`${l}: ${m}`) });
  try {
    const r = await b.authenticate(req('nemo', 'p@ss'));
    assert.deepEqual(r, { ok: true, backend: 'radius', framedIp: '10.9.8.7', attributes: { server: `127.0.0.1:${server.address().port}`, 'reply-message': 'hello' } });
    assert.equal(seen.length, 1, 'no retransmission was needed');
    const port = server.address().port;
    assert.deepEqual(logs.filter((l) => !l.startsWith('debug')), [`warn: RADIUS response from 127.0.0.1:${port} dropped: the Response Authenticator does not match (a wrong shared secret, or a forged response)`], 'one warning per request, however many forgeries');
    assert.deepEqual(logs.filter((l) => l.startsWith('debug')).map((l) => l.replace(/identifier \d+/, 'identifier N')), [
      `debug: RADIUS: a 5-byte datagram from 127.0.0.1:${port} is not a RADIUS response: dropped`,
      `debug: RADIUS: a response (code 2, identifier N) from 127.0.0.1:${port} matches no request: dropped`,
      `debug: RADIUS: a response (code 4, identifier N) from 127.0.0.1:${port} matches no request: dropped`,
      `debug: RADIUS: a response (code 2, identifier N) from 127.0.0.1:${liar.address().port} matches no request: dropped`,
    ]);
    // what the server received: User-Name, NAS-Identifier, NAS-Port-Type Virtual, Calling-Station-Id
    const m = seen[0]!;
    const attrs: [number, string][] = [];
    for (let at = 20; at < m.length; at += m[at + 1]!) attrs.push([m[at]!, m.subarray(at + 2, at + m[at + 1]!).toString('hex')]);
    assert.deepEqual(attrs.map(([t]) => t), [80, 1, 32, 61, 31, 2]);
    assert.deepEqual(attrs.slice(1, 5), [[1, Buffer.from('nemo').toString('hex')], [32, Buffer.from('isakmp').toString('hex')], [61, '00000005'], [31, Buffer.from('198.51.100.9').toString('hex')]]);
    assert.equal(attrs[5]![1], Buffer.from(hidePassword(Buffer.from('p@ss'), secret, m.subarray(4, 20))).toString('hex'));
  } finally {
    await b.close();
    server.close();
    liar.close();
  }
});

test('require_message_authenticator: an unsigned Access-Accept is dropped, a signed one taken', async () => {
  const server = await bindServer();
  const secret = Buffer.from('s3cret');
  let n = 0;
  server.on('message', (m: Buffer, r: RemoteInfo) => {
    server.send(respond(m, 2, secret, Buffer.alloc(0), n++ > 0), r.port, r.address); // the first try unsigned
  });
  const logs: string[] = [];
  const b = createRadiusBackend({ servers: [{ address: '127.0.0.1', port: server.address().port, secret }], timeoutMs: 300, retries: 1, requireMessageAuthenticator: true, log: (l, m) => logs.push(`${l}: ${m}`) });
  try {
    assert.equal((await b.authenticate(req('nemo', 'x'))).ok, true);
    assert.equal(n, 2, 'taken at the retransmission');
    assert.match(logs[0]!, /dropped: it has no Message-Authenticator, which this client requires \(CVE-2024-3596\)/);
  } finally {
    await b.close();
    server.close();
  }
});

test('outstanding requests are bounded; close() ends the waiting ones', async () => {
  const silent = await bindServer(); // receives, never answers
  let received = 0;
  silent.on('message', () => received++);
  const b = createRadiusBackend({ servers: [{ address: '127.0.0.1', port: silent.address().port, secret: Buffer.from('x') }], timeoutMs: 60_000, retries: 0, maxOutstanding: 2 });
  try {
    const waiting = [b.authenticate(req('a', 'x')), b.authenticate(req('b', 'x'))];
    assert.deepEqual(await b.authenticate(req('c', 'x')), { ok: false, reason: 'too many RADIUS requests waiting (2); the servers are slow or down', backend: 'radius' });
    while (received < 2) await new Promise((r) => setTimeout(r, 10));
    await b.close();
    for (const w of await Promise.all(waiting)) assert.deepEqual(w, { ok: false, reason: 'the RADIUS client was closed', backend: 'radius' });
    assert.deepEqual(await b.authenticate(req('d', 'x')), { ok: false, reason: 'the RADIUS client is closed', backend: 'radius' });
  } finally {
    silent.close();
  }
});
