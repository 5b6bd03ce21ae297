/**
 * `ike_rekey_margin` rekeys phase 1 and `rekey_margin` the IPsec SAs, each by its own margin:
 * connections built from configuration text (the daemon's mapping), run by two real engines in
 * memory on a virtual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/daemon/config/index.js';
import { toEngineConnection } from '../../src/daemon/engine.js';
import { Pair } from '../helpers/pair.js';

function connection(me: string, peer: string, margins: string): ReturnType<typeof toEngineConnection> {
  const text = `secrets:
  k: { psk: "rekey margin test", allow_weak_psk: true }
connections:
  c:
    secret: k
    local: { address: ${me} }
    remote: { address: ${peer} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
    ike_lifetime: 20m
    lifetime: 30m
    rekey_fuzz: 0
${margins}`;
  return toEngineConnection(parseConfig(text, 'x.yaml').connections[0]!, 500, me);
}

function run(margins: string): { p1At: number | undefined; qmAt: number | undefined } {
  const pair = new Pair({ seed: `margins ${margins}` });
  pair.a.setConnection(connection('192.0.2.1', '192.0.2.2', margins));
  pair.b.setConnection(connection('192.0.2.2', '192.0.2.1', margins));
  pair.a.initiate(pair.now, 'c');
  pair.run(1000);
  const p1 = pair.a.isakmpSas()[0]!;
  const qm = pair.a.ipsecSas()[0]!;
  let p1At: number | undefined;
  let qmAt: number | undefined;
  // one virtual second at a time up to the IPsec SA's hard lifetime
  for (let t = 0; t < 30 * 60 && (p1At === undefined || qmAt === undefined); t++) {
    pair.run(1000);
    for (const e of pair.ev('a', 'rekeyed')) {
      if (e.kind === 'isakmp' && e.old === p1.id) p1At ??= Math.round((pair.now - p1.establishedAt!) / 1000);
      if (e.kind === 'ipsec' && e.old === qm.id) qmAt ??= Math.round((pair.now - qm.establishedAt) / 1000);
    }
  }
  return { p1At, qmAt };
}

test('ike_rekey_margin reaches the engine and rekeys phase 1 by itself; rekey_margin rekeys the IPsec SAs', () => {
  const c = connection('192.0.2.1', '192.0.2.2', '    ike_rekey_margin: 5m\n    rekey_margin: 1m\n');
  assert.equal(c.ikeRekeyMarginSeconds, 300);
  assert.equal(c.rekeyMarginSeconds, 60);
  // fuzz 0: phase 1 at 20 min − 5 min, Quick Mode at 30 min − 1 min (to the second, with the exchange's time)
  const r = run('    ike_rekey_margin: 5m\n    rekey_margin: 1m\n');
  assert.ok(r.p1At !== undefined && r.p1At >= 900 && r.p1At <= 901, `phase 1 rekeyed after ${r.p1At} s`);
  assert.ok(r.qmAt !== undefined && r.qmAt >= 1740 && r.qmAt <= 1741, `Quick Mode rekeyed after ${r.qmAt} s`);
  // the other way round: the margins are independent
  const s = run('    ike_rekey_margin: 2m\n    rekey_margin: 10m\n');
  assert.ok(s.p1At !== undefined && s.p1At >= 1080 && s.p1At <= 1081, `phase 1 rekeyed after ${s.p1At} s`);
  assert.ok(s.qmAt !== undefined && s.qmAt >= 1200 && s.qmAt <= 1201, `Quick Mode rekeyed after ${s.qmAt} s`);
});
