// Issue 10: message events while observeMessages(true): each message as its payload list, what it
// settled, retransmissions; none when off (the default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../src/exchange/index.js';
import { Pair, conn } from '../helpers/pair.js';

type Msg = Extract<EngineEvent, { type: 'message' }>;
const line = (m: Msg): string => `${m.name} ${m.direction}${m.retransmit ? ` again (${m.retransmit})` : ` [${m.payloads.join(' ')}]`}${m.detail ? `: ${m.detail}` : ''}`;

test('Main Mode + Quick Mode, both sides: every message as its payload list, what it settled', () => {
  const pair = new Pair({ seed: 'trace' });
  pair.a.observeMessages(true);
  pair.b.observeMessages(true);
  pair.a.setConnection(conn(pair, 'a'));
  pair.b.setConnection(conn(pair, 'b'));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  const a = pair.ev('a', 'message').map(line);
  // (the two vendor IDs: RFC 3706 DPD, RFC 3947 NAT-T)
  assert.deepEqual(a, [
    'MM1 out [SA VID VID VID]',
    'MM2 in [SA VID VID VID]: aes128-sha256-modp2048',
    'MM3 out [KE NONCE NAT-D NAT-D]',
    'MM4 in [KE NONCE NAT-D NAT-D]',
    'MM5 out [ID HASH N(INITIAL_CONTACT)]',
    'MM6 in [ID HASH]: peer id 192.0.2.2',
    'QM1 out [HASH SA NONCE ID ID]',
    'QM2 in [HASH SA NONCE ID ID]: esp aes128-sha256',
    'QM3 out [HASH]',
  ]);
  const b = pair.ev('b', 'message').map(line);
  assert.deepEqual(b, [
    'MM1 in [SA VID VID VID]: aes128-sha256-modp2048',
    'MM2 out [SA VID VID VID]',
    'MM3 in [KE NONCE NAT-D NAT-D]',
    'MM4 out [KE NONCE NAT-D NAT-D]',
    'MM5 in [ID HASH N(INITIAL_CONTACT)]: peer id 192.0.2.1',
    'MM6 out [ID HASH]',
    'QM1 in [HASH SA NONCE ID ID]: esp aes128-sha256, 192.0.2.1 === 192.0.2.2',
    'QM2 out [HASH SA NONCE ID ID]',
    'QM3 in [HASH]',
  ]);
  // informational: a Delete
  pair.clearEvents();
  pair.a.delete(pair.now, pair.a.ipsecSas()[0]!.id);
  pair.run(100);
  assert.deepEqual(pair.ev('a', 'message').map(line), ['INFO out [HASH D(ESP)]']);
  assert.deepEqual(pair.ev('b', 'message').map(line), ['INFO in [HASH D(ESP)]']);
});

test('retransmissions are message events too; nothing is observed by default', () => {
  const pair = new Pair({ seed: 'trace-rtx', knobs: { loss: 1 } });
  pair.a.setConnection(conn(pair, 'a', { keyingTries: 1 }));
  pair.a.observeMessages(true);
  pair.a.initiate(pair.now, 'c');
  pair.run(4000);
  assert.deepEqual(pair.ev('a', 'message').map((m) => [m.name, m.retransmit ?? 0]), [['MM1', 0], ['MM1', 1], ['MM1', 2]]);
  const quiet = new Pair({ seed: 'trace-off' });
  quiet.a.setConnection(conn(quiet, 'a'));
  quiet.b.setConnection(conn(quiet, 'b'));
  quiet.a.initiate(quiet.now, 'c');
  quiet.run(2000);
  assert.equal(quiet.a.ipsecSas().length, 1);
  assert.equal(quiet.ev('a', 'message').length + quiet.ev('b', 'message').length, 0);
});
