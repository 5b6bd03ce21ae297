/**
 * The `up` waiter's timeout answer: a message that cannot be read after decryption suggests a
 * PSK mismatch only while phase 1 is not up; once the ISAKMP SA is established the keys are
 * proven and the answer says so (found against Libreswan, whose padded Mode Config reply we once
 * refused: "check the pre-shared key" sent the operator the wrong way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Waiters } from '../../src/daemon/waiters.js';
import type { ConnectionConfig } from '../../src/daemon/config/index.js';
import type { EngineEvent, IsakmpSaInfo } from '../../src/daemon/engine.js';

const PEER = { address: '192.0.2.7', port: 500 };
const conn = { name: 'office', auth: 'psk', remote: { address: PEER.address, port: 500 } } as unknown as ConnectionConfig;
const garbage: EngineEvent = { type: 'dropped', peer: PEER, notify: 16, reason: 'data attribute header needs 4 bytes, 2 left' };

function phase1Up(): EngineEvent {
  const sa = { id: 'x', connection: 'office', role: 'initiator', exchange: 'main', state: 'established', local: { address: '192.0.2.1', port: 500 }, remote: PEER, initiatorCookie: new Uint8Array(8), responderCookie: new Uint8Array(8) } satisfies IsakmpSaInfo;
  return { type: 'phase1-established', sa } as EngineEvent;
}

async function timeoutAnswer(events: readonly EngineEvent[]): Promise<string> {
  const w = new Waiters(() => {
    throw new Error('no SA expected');
  });
  const answer = w.wait('office', () => conn, 30, () => ({ started: 1, negotiating: 0, established: 0 }));
  for (const e of events) w.onEvent(e);
  const r = await answer;
  assert.equal(r.ok, false);
  return String(r.error);
}

test('garbage before phase 1 is up: the answer points at the pre-shared key', async () => {
  const error = await timeoutAnswer([garbage]);
  assert.match(error, /data attribute header needs 4 bytes.*check that both sides use the same pre-shared key/);
});

test('garbage after the ISAKMP SA is up: the answer says the keys match and how to look at the message', async () => {
  const error = await timeoutAnswer([phase1Up(), garbage]);
  assert.doesNotMatch(error, /check that both sides use the same pre-shared key/);
  assert.match(error, /the ISAKMP SA was established \(the pre-shared keys match\).*isakmp decode/);
});

test('a Quick Mode failure the engine retries itself (retrying: true) does not end `up`; a final one does', async () => {
  const w = new Waiters(() => {
    throw new Error('no SA expected');
  });
  const answer = w.wait('office', () => conn, 200, () => ({ started: 1, negotiating: 0, established: 0 }));
  let settled = false;
  void answer.then(() => (settled = true));
  w.onEvent({ type: 'failed', kind: 'ipsec', connection: 'office', peer: PEER, notify: 0, reason: 'Quick Mode got no answer under ISAKMP SA x', cause: 'NO_ANSWER', retrying: true });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'still waiting for the retry');
  w.onEvent({ type: 'failed', kind: 'ipsec', connection: 'office', peer: PEER, notify: 0, reason: 'retransmit limit reached, peer does not answer', cause: 'NO_ANSWER' });
  const r = await answer;
  assert.equal(r.ok, false);
  assert.match(String(r.error), /retransmit limit reached/);
});

test('a harmless repeat (REPEATED_MESSAGE) after a real problem does not hide it from the answer', async () => {
  const repeat: EngineEvent = { type: 'dropped', peer: PEER, notify: 0, code: 'REPEATED_MESSAGE', reason: "byte-identical repeat of the peer's last Main Mode message (already taken; nothing to answer)" };
  const error = await timeoutAnswer([garbage, repeat]);
  assert.match(error, /data attribute header needs 4 bytes/);
  assert.doesNotMatch(error, /byte-identical repeat/);
});
