// The daemon's Mode Config events: a client refused for claiming an address not its own is logged
// at warn with the engine's reason (both addresses); other INVALID_ID_INFORMATION drops stay at debug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotifyType } from '../../../src/constants/index.js';
import { Logger } from '../../../src/daemon/log.js';
import { ModeConfigEvents } from '../../../src/daemon/modecfg-events.js';

test('a borrowed virtual address is logged at warn with both addresses', () => {
  const lines: string[] = [];
  const m = new ModeConfigEvents({
    logger: new Logger({ level: 'info', areas: {}, format: 'text', write: (l) => lines.push(l) }),
    now: () => 0,
    connections: () => [],
    answerModeConfig: undefined,
    deleteSa: () => undefined,
    pump: () => undefined,
  });
  const peer = { address: '198.51.100.7', port: 500 };
  m.onEvent({ type: 'dropped', peer, notify: NotifyType.INVALID_ID_INFORMATION, reason: 'traffic selectors outside the connection' });
  assert.equal(lines.length, 0);
  m.onEvent({ type: 'dropped', peer, notify: NotifyType.INVALID_ID_INFORMATION, reason: "the client's Quick Mode selector 10.10.0.8 is not the virtual address 10.10.0.7 assigned to it on this ISAKMP SA" });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN .*Quick Mode refused: the client's Quick Mode selector 10\.10\.0\.8 is not the virtual address 10\.10\.0\.7/);
  assert.match(lines[0]!, /198\.51\.100\.7:500/);
});
