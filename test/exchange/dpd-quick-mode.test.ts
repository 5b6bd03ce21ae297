// DPD and Quick Mode: no R-U-THERE while a Quick Mode with the peer is in progress (vpnc gave up
// its tunnel when our probe came while it waited for the end of a Quick Mode); the count of
// silence starts again after it, and a silent peer is still probed and found dead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import type { DpdPolicy } from '../../src/exchange/index.js';
import { anotherQuickMode, establishedPair, type Pair } from '../helpers/pair.js';

const DPD: DpdPolicy = { delaySeconds: 10, timeoutSeconds: 30 };

/** Informational exchanges a sent (its only ones here: R-U-THEREs) at or after `since`. */
function informationalsOfA(pair: Pair, since: number): number[] {
  return pair.wire.filter((w) => w.from === 'a' && !w.keepalive && w.at >= since && decodeHeader(w.data).exchangeType === 5).map((w) => w.at);
}

test('no R-U-THERE while a Quick Mode with the peer is in progress: the probe waits for its end', () => {
  const pair = establishedPair('dpd-during-qm', { dpd: DPD }, true);
  assert.equal(pair.a.isakmpSas()[0]!.dpd, true);
  pair.run(5000);
  // b starts a Quick Mode; a answers QM2, and b's QM3 never arrives: a's Quick Mode (responder)
  // stays in progress until its timeout (64 s with the default retransmission schedule)
  let bQm = 0;
  pair.tap = (from, data) => (from === 'b' && data[18] === 32 && ++bQm > 1 ? null : data);
  const start = pair.now;
  anotherQuickMode(pair, 'b');
  pair.run(50_000);
  assert.ok(bQm >= 2, 'b sent its QM3 (dropped)');
  assert.deepEqual(informationalsOfA(pair, start), [], 'no probe during the Quick Mode');
  // the Quick Mode times out; the silence counts from then: a probe follows within the delay
  pair.run(30_000);
  assert.ok(pair.ev('a', 'failed').some((e) => e.kind === 'ipsec'), 'a\'s Quick Mode timed out');
  const failedAt = pair.now - 30_000 + 14_000; // 64 s after the QM1 (start + 5 ms)
  const probes = informationalsOfA(pair, start);
  assert.ok(probes.length >= 1, 'probing resumed after the Quick Mode');
  assert.ok(probes[0]! >= failedAt && probes[0]! <= failedAt + DPD.delaySeconds * 1000 + 100, `first probe at ${probes[0]! - start} ms`);
  pair.tap = undefined;
});

test('a silent peer is still found dead when no Quick Mode is in progress', () => {
  const pair = establishedPair('dpd-silent-still', { dpd: DPD }, true);
  pair.tap = (from, data) => (from === 'b' ? null : data);
  pair.run(45_000);
  assert.equal(pair.ev('a', 'peer-dead').length, 1);
});
