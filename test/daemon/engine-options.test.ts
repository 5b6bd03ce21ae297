// The daemon hands the engine every option its configuration sets (issue 9: the per-peer caps,
// the message-ID budget, the Aggressive Mode rate; the NAT keepalive interval; the NAT-T port),
// and the real engine factory passes them through whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import type { EndpointFactoryOptions } from '../../src/daemon/engine.js';
import { inspect } from '../../src/exchange/inspect.js';
import type { Endpoint } from '../../src/exchange/index.js';

const quiet = new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });

test('global limits from the file reach the engine (max_isakmp_sas_per_identity, …, aggressive_rate, first_message_rate, nat_keepalive)', () => {
  const config = parseConfig(`global:
  listen: [127.0.0.1]
  control_socket: /nonexistent/x.sock
  max_isakmp_sas_per_identity: 7
  max_isakmp_sas_per_address: 9
  max_ipsec_sas_per_identity: 11
  max_quick_modes_per_sa: 3
  message_id_budget: 128
  aggressive_rate: { per_second: 20, burst: 30, per_source_per_second: 2, per_source_burst: 4 }
  first_message_rate: { per_second: 300, burst: 50, per_source_per_second: 1, per_source_burst: 3 }
  nat_keepalive: 15s
secrets:
  s: { psk: a-long-enough-pre-shared-key-for-tests }
connections:
  c:
    secret: s
    local: { address: 127.0.0.1 }
    remote: { address: 192.0.2.9 }
    ike: aes128-sha256-modp2048
`, 'limits.yaml');
  let seen: EndpointFactoryOptions | undefined;
  let engine: Endpoint | undefined;
  void new Daemon({
    config,
    control: false,
    logger: quiet,
    endpointFactory: (o) => {
      seen = o;
      return (engine = realEndpointFactory(o) as Endpoint);
    },
  });
  assert.ok(seen && engine);
  assert.equal(seen.maxIsakmpSasPerIdentity, 7);
  assert.equal(seen.maxIsakmpSasPerAddress, 9);
  assert.equal(seen.maxIpsecSasPerIdentity, 11);
  assert.equal(seen.maxQuickModesPerSa, 3);
  assert.equal(seen.messageIdBudget, 128);
  assert.deepEqual(seen.aggressiveRate, { perSecond: 20, burst: 30, perSourcePerSecond: 2, perSourceBurst: 4 });
  assert.deepEqual(seen.firstMessageRate, { perSecond: 300, burst: 50, perSourcePerSecond: 1, perSourceBurst: 3 });
  // the real engine took them (a factory that dropped options once left keepalives off)
  const opt = inspect(engine).options();
  assert.equal(opt.maxIsakmpSasPerIdentity, 7);
  assert.equal(opt.messageIdBudget, 128);
  assert.equal(opt.natKeepaliveSeconds, 15);
  assert.equal(opt.nattPort, 4500);
});

test('the defaults of the per-peer caps and rates (docs/config.md)', () => {
  const g = parseConfig('connections: {}\n', 'empty.yaml').global;
  assert.deepEqual(
    [g.maxIsakmpSasPerIdentity, g.maxIsakmpSasPerAddress, g.maxIpsecSasPerIdentity, g.maxQuickModesPerSa, g.messageIdBudget, g.aggressiveRate, g.firstMessageRate],
    [200, 500, 1000, 16, 1024, { perSecond: 100, burst: 100, perSourcePerSecond: 5, perSourceBurst: 10 }, { perSecond: 1000, burst: 1000, perSourcePerSecond: 2, perSourceBurst: 4 }],
  );
});
