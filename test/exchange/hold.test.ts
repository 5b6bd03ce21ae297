// The Quick Mode hold (src/exchange/lifecycle.ts) that a post-authentication exchange (the
// Transaction exchange: XAUTH / Mode Config) will use: while an ISAKMP SA is held, our Quick Modes
// wait on it and the peer's are refused; the release starts ours. White box: the engine's state
// through engineOf(), typed (a renamed function or field fails to compile here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader } from '../../src/codec/index.js';
import { engineOf } from '../../src/exchange/endpoint.js';
import { holdQuickModes, releaseQuickModes } from '../../src/exchange/lifecycle.js';
import { isEstablished, type KeyedP1 } from '../../src/exchange/records.js';
import type { Endpoint } from '../../src/exchange/index.js';
import { establishedPair as up, type Pair } from '../helpers/pair.js';

function theSa(ep: Endpoint): KeyedP1 {
  const p1 = [...engineOf(ep).sas.p1s.values()].find(isEstablished);
  assert.ok(p1 && isEstablished(p1));
  return p1;
}

const quickModes = (pair: Pair, side: 'a' | 'b') => pair.sentBy(side).filter((w) => decodeHeader(w.data).exchangeType === 32);

test('hold: our Quick Mode waits on the held ISAKMP SA and starts when it is released', () => {
  const pair = up('hold-ours');
  const p1 = theSa(pair.a);
  holdQuickModes(p1);
  pair.a.rekey(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(5000);
  assert.deepEqual(quickModes(pair, 'a'), [], 'nothing sent while held');
  assert.equal(pair.ev('a', 'rekeyed').length, 0);
  releaseQuickModes(engineOf(pair.a), pair.now, p1);
  pair.run(2000);
  assert.equal(quickModes(pair, 'a').length, 2, 'QM1 and QM3 once released');
  assert.equal(pair.ev('a', 'rekeyed').length, 1);
  assert.equal(pair.a.isakmpSas().length, 1, 'under the same ISAKMP SA, no new phase 1');
});

test("hold: the peer's Quick Mode is refused while held; its retransmission gets through after the release", () => {
  const pair = up('hold-peer');
  const p1 = theSa(pair.b);
  holdQuickModes(p1);
  pair.a.rekey(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(100);
  const drops = pair.ev('b', 'dropped');
  assert.equal(drops.length, 1);
  assert.match(drops[0]!.reason, /post-authentication/);
  assert.deepEqual(quickModes(pair, 'b'), [], 'no answer while held');
  releaseQuickModes(engineOf(pair.b), pair.now, p1);
  pair.run(3000);
  assert.equal(pair.ev('a', 'rekeyed').length, 1, 'the retransmitted QM1 is answered');
  assert.equal(pair.b.ipsecSas().length, 1);
});
