/**
 * Remote access with certificates against the real strongSwan charon, both roles:
 *   - XAUTH RSA (XAUTHInitRSA 65005): both sides sign with the certificates of interop/pki.sh, then
 *     XAUTH user "alice";
 *   - Hybrid (HybridInitRSA 64221, draft-ietf-ipsec-isakmp-hybrid-auth-05): only the gateway signs,
 *     the client sends a HASH and authenticates with XAUTH alone; the client checks the gateway's
 *     certificate against its CA.
 * Both sides agree on the ISAKMP SA (cookies, charon's Ka = our key log) and the IPsec SA (SPIs
 * crossed); the password is in no log, key log or status of ours.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, charon, interopSkipReason, Ours, RUN, script, until, labUp, type CharonSa } from './peers.js';
import { ALICE, ALICE_PASSWORD, ANY_CLIENT, raYaml, usersFile } from './ra-configs.js';

const skip = interopSkipReason();
if (skip) console.log(`# XAUTH certificate interop skipped: ${skip}`);

const PASSWORD = ALICE_PASSWORD;
const PKI = join(RUN, 'pki');
const DN = (p: 'a' | 'b'): string => `C=CH, O=peers-test, CN=peer-${p}`;

function gatewayConfig(sock: string, users: string): string {
  const rw = (name: string, auth: 'rsa' | 'hybrid') => ({ name, auth, secret: 'cert', local: B.ip, remote: ANY_CLIENT, xauth: usersFile(users) });
  return raYaml({
    listen: B.ip,
    sock,
    secrets: { cert: `{ cert: ${PKI}/peer-b.crt, key: ${PKI}/peer-b.key, ca: ${PKI}/ca.crt }` },
    connections: [rw('rw-rsa', 'rsa'), rw('rw-hybrid', 'hybrid')],
  });
}

function clientConfig(sock: string): string {
  const office = (name: string, auth: 'rsa' | 'hybrid', secret: string) => ({ name, auth, secret, local: A.ip, remote: `{ address: ${B.ip}, id: "${DN('b')}" }`, xauth: ALICE });
  return raYaml({
    listen: A.ip,
    sock,
    secrets: { cert: `{ cert: ${PKI}/peer-a.crt, key: ${PKI}/peer-a.key, ca: ${PKI}/ca.crt }`, 'gateway-ca': `{ ca: ${PKI}/ca.crt }` },
    connections: [office('office-rsa', 'rsa', 'cert'), office('office-hybrid', 'hybrid', 'gateway-ca')],
  });
}

/** charon's SA `conn` up with an INSTALLED child; our side lists the same SAs and the same Ka. */
async function assertAgree(ours: Ours, name: 'a' | 'b', conn: string, ourConn: string, method: string, diag: () => string): Promise<CharonSa> {
  const sa = await until(() => charon.sas(name).find((s) => s.conn === conn && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
  assert.ok(sa, `charon has no established ${conn} SA:\n${diag()}\n${charon.tail(name)}\n--- ours:\n${ours.log().slice(-3000)}`);
  const status = await until(async () => {
    const s = await ours.status();
    return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
  }, 5000);
  assert.ok(status, `we do not list the IPsec SA: ${JSON.stringify(await ours.status())}`);
  const p1 = status.isakmp.find((s: any) => s.initiatorCookie === sa.ispi && s.responderCookie === sa.rspi);
  assert.ok(p1 && p1.connection === ourConn && p1.state === 'established', JSON.stringify(status.isakmp));
  assert.equal(p1.algorithms, `aes256-sha256-modp2048 ${method}`, 'status names the remote-access method');
  const child = sa.children.find((c) => status.ipsec.some((q: any) => q.spiOut === c.spiIn))!;
  assert.equal(status.ipsec.find((q: any) => q.spiOut === child.spiIn).spiIn, child.spiOut);
  const ka = charon.keys(name).filter((k) => k.uid === sa.uid && k.label === 'encryption key Ka').map((k) => k.hex);
  const line = ours.keylogLines().find((l) => l.startsWith(`${sa.ispi},`));
  assert.ok(ka.length >= 1 && line !== undefined, 'Ka in both logs');
  assert.equal(line.split(',')[1], ka[ka.length - 1]);
  assert.ok(!ours.log().includes(PASSWORD) && !readFileSync(ours.keylog, 'utf8').includes(PASSWORD) && !JSON.stringify(status).includes(PASSWORD), 'the password leaked');
  return sa;
}

/** The authentication method charon logged for its phase-1 SA (its "selected proposal" line carries none: the IKE_SA line does). */
function charonSawMethod(name: 'a' | 'b', re: RegExp): boolean {
  return re.test(charon.log(name));
}

describe('XAUTH RSA and Hybrid: charon as the client of our gateway', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    labUp();
    const users = join(RUN, 'xauth-cert-users');
    writeFileSync(users, `alice:${await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
    charon.start('a', A.ns);
    charon.load('a', 'xauth-client-rsa.conf');
    ours = await Ours.start('xauth-cert-gw', B.ns, (sock) => gatewayConfig(sock, users));
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });

  test('XAUTHInitRSA: charon signs, we sign, then XAUTH alice; same SA and keys', async () => {
    const up = charon.up('a', 'xauth-rsa', 'ra', 15);
    await assertAgree(ours!, 'a', 'xauth-rsa', 'rw-rsa', 'xauth-rsa', () => `${up.out}\n${up.err}`);
    assert.match(charon.log('a'), /XAuth authentication of 'alice' \(myself\) successful/);
    assert.match(ours!.log(), /XAUTH: user accepted by file:/);
    charon.down('a', 'xauth-rsa');
  });

  test('Hybrid (HybridInitRSA): charon checks our certificate, sends a HASH, XAUTH alice; same SA and keys', async () => {
    const up = charon.up('a', 'hybrid', 'ra', 15);
    await assertAgree(ours!, 'a', 'hybrid', 'rw-hybrid', 'hybrid-rsa', () => `${up.out}\n${up.err}`);
    const log = charon.log('a');
    assert.match(log, /authentication of 'C=CH, O=peers-test, CN=peer-b' with RSA(_EMSA_PKCS1)?\S* successful/);
    assert.ok(charonSawMethod('a', /XAuth authentication of 'alice' \(myself\) successful/));
    assert.match(log, /received XAuth vendor ID/, 'charon recognised our XAUTH vendor ID');
    charon.down('a', 'hybrid');
  });
});

describe('XAUTH RSA and Hybrid: our client against charon as the gateway', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    labUp();
    charon.start('b', B.ns);
    ours = await Ours.start('xauth-cert-client', A.ns, (sock) => clientConfig(sock));
  });
  after(async () => {
    await ours?.stop();
    charon.stop('b');
    script('netns.sh', ['down']);
  });

  test('XAUTHInitRSA: our client signs, then answers charon\'s XAUTH; same SA and keys', async () => {
    charon.load('b', 'xauth-gateway-rsa.conf');
    const up = await ours!.ctl({ cmd: 'up', name: 'office-rsa', timeoutMs: 15_000 });
    await assertAgree(ours!, 'b', 'xauth-rsa-gw', 'office-rsa', 'xauth-rsa', () => JSON.stringify(up));
    assert.match(charon.log('b'), /XAuth authentication of 'alice' successful/);
    await ours!.ctl({ cmd: 'down', name: 'office-rsa' });
  });

  test('Hybrid: our client checks charon\'s certificate against its CA, sends a HASH, answers XAUTH; same SA and keys', async () => {
    charon.load('b', 'hybrid-gateway.conf');
    const up = await ours!.ctl({ cmd: 'up', name: 'office-hybrid', timeoutMs: 15_000 });
    await assertAgree(ours!, 'b', 'hybrid-gw', 'office-hybrid', 'hybrid-rsa', () => JSON.stringify(up));
    assert.match(charon.log('b'), /XAuth authentication of 'alice' successful/);
    await ours!.ctl({ cmd: 'down', name: 'office-hybrid' });
  });
});
