/**
 * Issue 10, "every failure explained": two daemons with the real engine on loopback, logging at
 * the default level (info), one misconfiguration at a time. Each side that detects the failure
 * logs one warn line naming its cause (the stable word) and the operator's words; the other side
 * names what the peer said; `isakmp up` streams the exchange and ends with the cause line, its exit
 * code telling "no answer" (3), "refused by the peer" (4) and "refused by us" (5) apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { freeUdpPorts, tempDir } from './helpers.js';
import { loopbackGlobal, upScenario, type Line, type UpResult } from './up-scenario.js';

interface Side {
  psk?: string;
  ike?: string;
  esp?: string;
  localId?: string;
  remoteId?: string;
  localTs?: string;
  remoteTs?: string;
}

function conf(o: { port: number; peer: number; sock: string; me: string; other: string } & Side): string {
  return `${loopbackGlobal(o)}secrets:
  k: { psk: "${o.psk ?? 'the same secret on both sides'}", allow_weak_psk: true }
connections:
  to-${o.other}:
    secret: k
    local:  { address: 127.0.0.1, id: "${o.localId ?? `@${o.me}.test`}" }
    remote: { address: 127.0.0.1, port: ${o.peer}, id: "${o.remoteId ?? `@${o.other}.test`}" }
    ike: ${o.ike ?? 'aes128-sha256-modp2048'}
    esp: ${o.esp ?? 'aes128-sha256'}
${o.localTs ? `    local_ts: ${o.localTs}\n` : ''}${o.remoteTs ? `    remote_ts: ${o.remoteTs}\n` : ''}`;
}


function scenario(left: Side, right: Side, upTimeoutS = 10): Promise<UpResult> {
  return upScenario({
    prefix: 'isakmp-fail-',
    connection: 'to-right',
    upTimeoutS,
    left: (p) => conf({ ...p, me: 'left', other: 'right', ...left }),
    right: (p) => conf({ ...p, me: 'right', other: 'left', ...right }),
  });
}

/** The README's troubleshooting section quotes these lines as printed (connection names as NAME). */
const README = readFileSync('README.md', 'utf8').replace(/\s*\n\s*/g, ' ');
function quotedInReadme(line: unknown): void {
  const text = String(line).replace(/connection to-(left|right)\b/, 'connection NAME').replace(/, 10\.2\.0\.0\/16 === 10\.3\.0\.0\/16 \(/, ' (');
  assert.ok(README.includes(text), `README.md's troubleshooting section does not quote: ${text}`);
}

/** The warn lines of a side (what an operator sees at the default level beyond the SA lines). */
const warns = (lines: Line[]): Line[] => lines.filter((x) => x.level === 'warn' && x.area === 'ike');

test('wrong PSK: the responder logs PSK_MISMATCH at MM5; the initiator names the peer\'s AUTHENTICATION_FAILED; up exits 4 (refused by the peer)', async () => {
  const s = await scenario({ psk: 'a different secret' }, {});
  const r = warns(s.right);
  assert.equal(r.length, 1, JSON.stringify(r));
  assert.equal(r[0]!.msg, 'phase 1 failed');
  assert.equal(r[0]!.cause, 'PSK_MISMATCH');
  assert.equal(r[0]!.connection, 'to-left');
  assert.match(String(r[0]!.reason), /^probable pre-shared key mismatch: MM5 from the peer does not decrypt to a valid payload chain \(.*\); check that both sides use the same psk for this peer$/);
  const l = warns(s.left);
  assert.equal(l[0]!.msg, 'refused by the peer');
  assert.equal(l[0]!.cause, 'PEER_REFUSED');
  assert.match(String(l[0]!.reason), /^the peer refused the phase 1: AUTHENTICATION_FAILED \(unauthenticated notify\): probable pre-shared key mismatch/);
  quotedInReadme(String(l[0]!.reason).split(' (not acted upon')[0]);
  quotedInReadme(String(r[0]!.reason).split(' (')[0]);
  assert.equal(s.code, 4, s.err.join('\n'));
  assert.deepEqual(s.out, ['MM1 sent', 'MM2 received: aes128-sha256-modp2048', 'MM3 sent', 'MM4 received', 'MM5 sent']);
  assert.match(s.err.join('\n'), /^isakmp up: connection 'to-right' refused by the peer: the peer refused the phase 1: AUTHENTICATION_FAILED \(unauthenticated notify\): probable pre-shared key mismatch: .*check that both sides use the same psk for this peer/);
});

test('no phase-1 proposal in common: the responder names both sides\' proposals; the initiator names NO_PROPOSAL_CHOSEN and its offer; exit 4', async () => {
  const s = await scenario({ ike: 'aes256-sha1-modp2048' }, { ike: 'aes128-sha256-modp2048, aes256-sha256-ecp256' });
  const r = warns(s.right);
  assert.deepEqual([r[0]!.msg, r[0]!.cause, r[0]!.notify], ['refused', 'NO_PROPOSAL_CHOSEN', 'NO_PROPOSAL_CHOSEN']);
  assert.equal(r[0]!.reason, 'no proposal chosen for connection to-left: peer offered aes256-sha1-modp2048, we accept aes128-sha256-modp2048, aes256-sha256-ecp256 (compare ike on both sides)');
  quotedInReadme(r[0]!.reason);
  const l = warns(s.left);
  assert.equal(l[0]!.cause, 'PEER_REFUSED');
  assert.match(String(l[0]!.reason), /^the peer refused the phase 1: NO_PROPOSAL_CHOSEN \(unauthenticated notify\): the peer accepts none of our phase-1 proposals \(we offered aes256-sha1-modp2048\)/);
  assert.equal(s.code, 4);
});

test('no Quick Mode proposal in common: the responder names the ESP offer and its own; the initiator\'s Quick Mode fails on the authenticated notify; exit 4', async () => {
  const s = await scenario({ esp: 'aes256-sha1' }, { esp: 'aes128gcm16, aes128-sha256' });
  const r = warns(s.right);
  assert.equal(r.length, 1, JSON.stringify(r));
  assert.deepEqual([r[0]!.msg, r[0]!.cause], ['refused', 'NO_PROPOSAL_CHOSEN']);
  assert.equal(r[0]!.reason, 'no Quick Mode proposal chosen for connection to-left: peer offered esp aes256-sha1, we accept esp aes128gcm16, esp aes128-sha256 (check esp/ah and pfs on both sides)');
  quotedInReadme(r[0]!.reason);
  const l = warns(s.left);
  assert.deepEqual([l[0]!.msg, l[0]!.cause], ['Quick Mode failed', 'PEER_REFUSED']);
  assert.equal(l[0]!.reason, 'the peer refused the Quick Mode: NO_PROPOSAL_CHOSEN (authenticated notify): the peer accepts none of our Quick Mode proposals (we offered esp aes256-sha1): compare esp/ah and pfs on both sides');
  quotedInReadme(l[0]!.reason);
  assert.equal(s.code, 4);
  assert.ok(s.out.includes('ISAKMP SA established with 127.0.0.1 (Main Mode)'));
});

test('identity mismatch detected by the responder: it names what the peer said and what it expects; exit 4', async () => {
  const s = await scenario({}, { remoteId: '@somebody-else.test' });
  const r = warns(s.right);
  assert.deepEqual([r[0]!.msg, r[0]!.cause], ['phase 1 failed', 'IDENTITY_MISMATCH']);
  assert.equal(r[0]!.reason, "identity mismatch: peer identity does not match the connection: the peer said left.test, connection to-left expects somebody-else.test (check remote.id here and the peer's own id)");
  quotedInReadme(r[0]!.reason);
  const l = warns(s.left);
  assert.deepEqual([l[0]!.msg, l[0]!.cause], ['phase 1 failed', 'PEER_REFUSED']);
  assert.equal(l[0]!.reason, "the peer refused the phase 1: INVALID_ID_INFORMATION (authenticated notify): the peer does not accept our identity left.test: compare our local.id with the peer's remote id for us");
  quotedInReadme(l[0]!.reason);
  assert.equal(s.code, 4);
  // an authenticated refusal reads as one too (exit 4 and the same words as an unauthenticated one)
  assert.match(s.err.join('\n'), /^isakmp up: connection 'to-right' refused by the peer: the peer refused the phase 1: INVALID_ID_INFORMATION \(authenticated notify\)/);
});

test('identity mismatch detected by the initiator (refused by us, exit 5); the responder drops the ISAKMP SA the peer refused, saying why', async () => {
  const s = await scenario({ remoteId: '@not-right.test' }, {});
  const l = warns(s.left);
  assert.deepEqual([l[0]!.msg, l[0]!.cause], ['phase 1 failed', 'IDENTITY_MISMATCH']);
  assert.equal(l[0]!.reason, "identity mismatch: peer identity does not match the connection: the peer said right.test, connection to-right expects not-right.test (check remote.id here and the peer's own id)");
  assert.equal(s.code, 5);
  assert.match(s.err.join('\n'), /^isakmp up: connection 'to-right' failed: identity mismatch: /);
  const r = warns(s.right);
  assert.deepEqual([r[0]!.msg, r[0]!.cause], ['refused by the peer', 'PEER_REFUSED']);
  assert.match(String(r[0]!.reason), /^the peer refused the phase 1: INVALID_ID_INFORMATION \(authenticated notify\): .*; the ISAKMP SA is deleted$/);
});

test('selectors refused: the responder names the proposed pair and the pairs it allows; exit 4', async () => {
  const s = await scenario({ localTs: '10.9.0.0/24', remoteTs: '10.2.0.0/24' }, { localTs: '10.2.0.0/16', remoteTs: '10.1.0.0/16, 10.3.0.0/16' });
  const r = warns(s.right);
  assert.deepEqual([r[0]!.msg, r[0]!.cause], ['refused', 'SELECTORS_REFUSED']);
  assert.equal(r[0]!.reason, 'traffic selectors refused: peer proposed 10.9.0.0/24 === 10.2.0.0/24, connection to-left allows 10.2.0.0/16 === 10.1.0.0/16, 10.2.0.0/16 === 10.3.0.0/16 (check local_ts / remote_ts on both sides)');
  quotedInReadme(r[0]!.reason);
  const l = warns(s.left);
  assert.equal(l[0]!.reason, 'the peer refused the Quick Mode: INVALID_ID_INFORMATION (authenticated notify): the peer refused our traffic selectors 10.9.0.0/24 === 10.2.0.0/24: compare local_ts / remote_ts on both sides');
  quotedInReadme(l[0]!.reason);
  assert.equal(s.code, 4);
});

test('no answer at all: up ends after its timeout with NO_ANSWER, exit 3; the progress shows MM1 again and again', async () => {
  const dir = tempDir('isakmp-fail-');
  const [lp, silent] = await freeUdpPorts(2);
  const text = conf({ port: lp!, peer: silent!, sock: join(dir, 'l.sock'), me: 'left', other: 'right' });
  const file = join(dir, 'l.yaml');
  writeFileSync(file, text);
  const d = new Daemon({ config: parseConfig(text, file), endpointFactory: realEndpointFactory, logger: new Logger({ level: 'info', areas: {}, format: 'json', write: () => {} }) });
  await d.start();
  try {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['up', 'to-right', '--socket', join(dir, 'l.sock'), '--timeout', '4'], { out: (x) => out.push(x), err: (x) => err.push(x) });
    assert.equal(code, 3, err.join('\n'));
    assert.deepEqual(out.slice(0, 3), ['MM1 sent', 'MM1 sent again (no answer yet, retransmission 1)', 'MM1 sent again (no answer yet, retransmission 2)']);
    assert.match(err[0]!, /^isakmp up: connection 'to-right' not established within 4 s \(no answer from 127\.0\.0\.1: is the peer up, and do the PSK and proposals match\?\)$/);
  } finally {
    await d.stop();
  }
});
