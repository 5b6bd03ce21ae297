// The failure lines at the default level (warn) are paced per peer, cause, connection and notify:
// two different faults with one peer within the pacing window are both named (seen against
// strongSwan: the selectors of one connection refused, then the ESP proposal of another, both
// PEER_REFUSED within 10 s: the second had no line at all), a repeat of the same one is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogEvents } from '../../src/daemon/events-log.js';
import { Logger } from '../../src/daemon/log.js';
import { Counters } from '../../src/daemon/counters.js';
import type { EngineEvent } from '../../src/daemon/engine.js';

const peer = { address: '198.18.0.2', port: 500 };
const failed = (connection: string, notify: number, reason: string): EngineEvent => ({ type: 'failed', kind: 'ipsec', connection, peer, notify, reason, cause: 'PEER_REFUSED' });

test('two Quick Mode refusals by one peer within 10 s, of two connections: two warn lines; the same again: counted, not repeated', () => {
  const lines: string[] = [];
  const logger = new Logger({ level: 'info', areas: {}, format: 'json', write: (l) => lines.push(l), clock: () => new Date(0) });
  let now = 0;
  const printer = new LogEvents(logger, new Counters(), undefined, () => [], () => now);
  printer.onEvent(failed('subnets', 18, 'the peer refused our traffic selectors 10.7.0.0/24 === 10.8.0.0/24: compare local_ts / remote_ts on both sides'));
  now = 30;
  printer.onEvent(failed('gcm', 14, 'the peer accepts none of our Quick Mode proposals (we offered esp aes256-sha1): compare esp/ah and pfs on both sides'));
  now = 60;
  printer.onEvent(failed('gcm', 14, 'the peer accepts none of our Quick Mode proposals (we offered esp aes256-sha1): compare esp/ah and pfs on both sides'));
  const warns = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
  assert.deepEqual(
    warns.map((w) => [w.msg, w.connection, w.notify]),
    [
      ['Quick Mode failed', 'subnets', 'INVALID_ID_INFORMATION'],
      ['Quick Mode failed', 'gcm', 'NO_PROPOSAL_CHOSEN'],
    ],
  );
  // past the window the repeat is named again, with the count of those left out
  now = 10_100;
  printer.onEvent(failed('gcm', 14, 'the peer accepts none of our Quick Mode proposals (we offered esp aes256-sha1): compare esp/ah and pfs on both sides'));
  const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.equal(last.connection, 'gcm');
  assert.equal(last.repeated, 1);
});

test('a refusal paced out of the warn lines still has its line at debug level', () => {
  const lines: string[] = [];
  const logger = new Logger({ level: 'debug', areas: {}, format: 'json', write: (l) => lines.push(l), clock: () => new Date(0) });
  let now = 0;
  const printer = new LogEvents(logger, new Counters(), undefined, () => [], () => now);
  const refused: EngineEvent = { type: 'dropped', peer, notify: 14, cause: 'NO_PROPOSAL_CHOSEN', connection: 'gcm', reason: 'no proposal chosen for connection gcm' };
  printer.onEvent(refused);
  now = 2000;
  printer.onEvent(refused);
  const mine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.connection === 'gcm');
  assert.deepEqual(mine.map((l) => [l.level, l.msg]), [['warn', 'refused'], ['debug', 'refused (repeat, warn line paced)']]);
});

test('a harmless repeat (REPEATED_MESSAGE) is a debug line and a counted drop, nothing at the default level', () => {
  for (const level of ['warn', 'debug'] as const) {
    const lines: string[] = [];
    const logger = new Logger({ level, areas: {}, format: 'json', write: (l) => lines.push(l), clock: () => new Date(0) });
    const counters = new Counters();
    const printer = new LogEvents(logger, counters, undefined, () => [], () => 0);
    printer.onEvent({ type: 'dropped', peer, notify: 0, code: 'REPEATED_MESSAGE', reason: "byte-identical repeat of the peer's last Main Mode message (already taken; nothing to answer)" });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed.map((l) => [l.level, l.msg, l.notify]), level === 'debug' ? [['debug', 'dropped datagram', 'REPEATED_MESSAGE']] : []);
    assert.equal(counters.dropped.REPEATED_MESSAGE, 1);
  }
});

test('an error notify of the peer that ends nothing of ours is a warn line with what to check, paced; one in clear is paced whatever its notify and says so; status notifies stay at info', () => {
  const lines: string[] = [];
  const logger = new Logger({ level: 'info', areas: {}, format: 'json', write: (l) => lines.push(l), clock: () => new Date(0) });
  let now = 0;
  const printer = new LogEvents(logger, new Counters(), undefined, () => [], () => now);
  const peerError = (notify: number, authenticated: boolean): EngineEvent => ({ type: 'peer-error', peer, connection: 'net', isakmpSa: '7', notify, authenticated, reason: `the peer sent notify ${notify}: see the peer's log for the cause` });
  const notify = (n: number): EngineEvent => ({ type: 'notify', peer, isakmpSa: '7', notify: n, spi: new Uint8Array(0), data: new Uint8Array(0) });
  // authenticated: INVALID_SPI and INVALID_ID_INFORMATION are two lines, a repeat within 10 s none
  printer.onEvent(peerError(11, true));
  printer.onEvent(notify(11));
  printer.onEvent(peerError(18, true));
  printer.onEvent(notify(18));
  now = 1000;
  printer.onEvent(peerError(11, true));
  printer.onEvent(notify(11));
  // in clear: one line for the peer and connection, whatever the notify type (a flood of types is one line)
  for (let t = 1; t <= 200; t++) printer.onEvent(peerError(t, false));
  // status notifies: info
  printer.onEvent(notify(24578));
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    parsed.map((l) => [l.level, l.msg, l.notify, l.connection]),
    [
      ['warn', 'error notify from the peer', 'INVALID_SPI', 'net'],
      ['warn', 'error notify from the peer', 'INVALID_ID_INFORMATION', 'net'],
      ['warn', 'unauthenticated error notify from the peer (not acted upon)', 'INVALID_PAYLOAD_TYPE', 'net'],
      ['info', 'notify from peer', 'INITIAL_CONTACT', undefined],
    ],
  );
  assert.equal(parsed[0]!.reason, "the peer sent notify 11: see the peer's log for the cause");
  // past the window: the next one in clear is named again, with the count left out
  now = 11_500;
  printer.onEvent(peerError(5, false));
  const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.deepEqual([last.level, last.notify, last.repeated, last.cause], ['warn', 'INVALID_MAJOR_VERSION', 199, 'PEER_REFUSED']);
  // the refusal that failed our Quick Mode, then the peer's late repeat of it: one warn line
  now = 30_000;
  const before = lines.length;
  printer.onEvent({ type: 'failed', kind: 'ipsec', connection: 'net', peer, notify: 18, reason: 'the peer refused the Quick Mode: INVALID_ID_INFORMATION', cause: 'PEER_REFUSED' });
  printer.onEvent(peerError(18, true));
  assert.deepEqual(lines.slice(before).map((l) => (JSON.parse(l) as Record<string, unknown>).msg), ['Quick Mode failed']);
});
