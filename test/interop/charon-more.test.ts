/**
 * strongSwan charon cases beside strongswan.test.ts: IPComp (`ipcomp = yes`, what `compress=yes`
 * sets in ipsec.conf). charon offers ESP bundled with IPCOMP under one proposal number, then the
 * same ESP alone under the next; we negotiate no IPComp and take the second (a peer that offers
 * only the bundle, Libreswan's pluto with compress=yes, is refused with IPComp named: see
 * libreswan-more.test.ts). As the initiator we offer ESP alone, which charon takes.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { A, B, charon, interopSkipReason, labDown, labUp, Ours, until } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# charon (more) interop skipped: ${skip}`);

const PSK = 'charon-ipcomp-psk-secret-71c2';

/** Our side on peer-b: connection `charon` against interop/conf/charon/ipcomp.conf. */
const ourConfig = (sock: string): string => `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  psk:
    psk: "${PSK}"
connections:
  charon:
    auth: psk
    secret: psk
    local:  { address: ${B.ip} }
    remote: { address: ${A.ip} }
    ike: aes128-sha256-modp2048
    esp: aes128-sha256
    local_ts: "${B.inner}/32"
    remote_ts: "${A.inner}/32"
    start: add
`;

describe('charon with IPComp (ipcomp = yes)', { skip: skip || false, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    labUp();
    charon.start('a', A.ns);
    charon.load('a', 'ipcomp.conf');
    ours = await Ours.start('charon-ipcomp', B.ns, ourConfig);
  });
  after(async () => {
    await ours?.stop();
    labDown();
  });

  test('charon proposes ESP + IPComp and then ESP alone (a proposal of its own): we take ESP alone; charon disables IPComp', async () => {
    const o = ours!;
    const r = charon.up('a', 'ipcomp', 'comp', 8);
    assert.equal(r.code, 0, `charon up: ${r.out}\n${o.log().slice(-2000)}`);
    assert.match(charon.log('a'), /peer did not accept our IPComp proposal, IPComp disabled/);
    const child = await until(() => charon.sas('a').flatMap((s) => s.children).find((c) => c.name === 'comp' && c.state === 'INSTALLED'), 5000);
    assert.ok(child, `charon has no CHILD_SA: ${JSON.stringify(charon.sas('a'))}`);
    const mine = await until(async () => (await o.status()).ipsec.find((q: any) => q.spiIn === child.spiOut && q.spiOut === child.spiIn), 5000);
    assert.ok(mine, `our status lacks charon's SPIs: ${JSON.stringify((await o.status()).ipsec)}`);
    assert.deepEqual([mine.role, mine.algorithms], ['responder', 'esp aes128-sha256']);
    assert.doesNotMatch(o.log(), /no Quick Mode proposal chosen/);
  });

  test('we initiate (ESP alone) to charon with ipcomp = yes: charon takes it without IPComp', async () => {
    const o = ours!;
    assert.equal((await o.ctl({ cmd: 'down', name: 'charon' })).ok, true);
    assert.ok(await until(() => !charon.sas('a').some((s) => s.children.length > 0), 5000), 'charon took our Deletes');
    const up = await o.ctl({ cmd: 'up', name: 'charon', timeoutMs: 8000 });
    assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.tail('a')}`);
    const child = await until(() => charon.sas('a').flatMap((s) => s.children).find((c) => c.name === 'comp' && c.state === 'INSTALLED'), 5000);
    assert.ok(child, `charon has no CHILD_SA: ${JSON.stringify(charon.sas('a'))}\n${charon.tail('a')}`);
    const mine = await until(async () => (await o.status()).ipsec.find((q: any) => q.spiIn === child.spiOut && q.spiOut === child.spiIn), 5000);
    assert.equal(mine?.role, 'initiator');
  });
});
