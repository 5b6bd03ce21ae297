// The XAUTH password never reaches a log line: every event of a real in-memory XAUTH exchange
// (both sides, debug level, text and JSON) goes through the daemon's event printer, and the
// output is searched for the password (issue 12: "a test greps for it").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogEvents } from '../../src/daemon/events-log.js';
import { Logger } from '../../src/daemon/log.js';
import { Counters } from '../../src/daemon/counters.js';
import { Pair, conn } from '../helpers/pair.js';

const PASSWORD = 'n0t-In-Any-L0g-9f3c';

test('XAUTH: no log line carries the password, the user and the outcome are logged', () => {
  const pair = new Pair({ seed: 'xauth-log' });
  pair.a.setConnection(conn(pair, 'a', { xauth: { role: 'client', user: 'alice', password: new TextEncoder().encode(PASSWORD) } }));
  pair.b.setConnection(conn(pair, 'b', { xauth: { role: 'server' } }));
  pair.a.initiate(pair.now, 'c');
  pair.run(2000);
  for (const e of pair.ev('b', 'xauth-request')) pair.b.answerXauth(pair.now, e.requestId, e.password === PASSWORD);
  pair.run(2000);
  assert.equal(pair.a.ipsecSas().length, 1);
  const events = [...pair.events.a, ...pair.events.b];
  assert.ok(events.some((e) => e.type === 'xauth-request' && e.password === PASSWORD), 'the event did carry it');
  for (const format of ['text', 'json'] as const) {
    const lines: string[] = [];
    const logger = new Logger({ level: 'debug', areas: {}, format, write: (l) => lines.push(l), clock: () => new Date(0) });
    const printer = new LogEvents(logger, new Counters(), undefined, () => []);
    for (const e of events) printer.onEvent(e);
    const out = lines.join('');
    assert.equal(out.includes(PASSWORD), false, `${format}: password in the log`);
    assert.equal(out.includes(Buffer.from(PASSWORD).toString('hex')), false, `${format}: password in hex in the log`);
    assert.match(out, /XAUTH: user authenticated/);
    assert.match(out, /alice/);
  }
});
