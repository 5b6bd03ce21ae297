/**
 * IKE fragmentation with a 4096-bit RSA certificate chain (CA -> intermediate -> leaf, all 4096-bit)
 * against strongSwan charon with `fragmentation = force`, both roles: charon cuts its MM5 (or MM6)
 * into fragments that we reassemble, and we send ours in fragments because charon announced the
 * FRAGMENTATION vendor ID (our default `fragmentation: yes`, 548-byte datagrams). Both sides then
 * agree on the ISAKMP SA (Ka = our key log) and the IPsec SA (SPIs crossed).
 *
 * The chain is made here with strongSwan's `pki` below $PEERS_RUN/pki-4096 (the shared 2048-bit
 * PKI of pki.sh is left alone). Run by `npm run test:interop` (root), under
 * `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { A, B, charon, interopSkipReason, Ours, RUN, script, until } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# 4096-bit chain fragmentation interop skipped: ${skip}`);

const DIR = join(RUN, 'pki-4096');
const DN = (n: string): string => `C=CH, O=peers-test, CN=${n}`;

/** CA, intermediate and the two leaves, 4096-bit RSA each (made once; kept for later runs). */
function makeChain(): void {
  if (existsSync(join(DIR, 'big-b.crt'))) return;
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'pki.conf'), 'pki {\n    load = random nonce pem pkcs1 pkcs8 x509 pubkey openssl\n}\n');
  const env = { ...process.env, STRONGSWAN_CONF: join(DIR, 'pki.conf') };
  const sh = (cmd: string): void => {
    const r = spawnSync('sh', ['-c', cmd], { cwd: DIR, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  };
  for (const k of ['big-ca', 'big-int', 'big-a', 'big-b']) sh(`pki --gen --type rsa --size 4096 --outform pem > ${k}.key`);
  sh(`pki --self --ca --lifetime 3650 --in big-ca.key --type rsa --dn "${DN('big CA')}" --outform pem > big-ca.crt`);
  sh(`pki --pub --in big-int.key --type rsa | pki --issue --ca --lifetime 3650 --cacert big-ca.crt --cakey big-ca.key --dn "${DN('big intermediate')}" --outform pem > big-int.crt`);
  for (const [p, ip] of [['big-a', A.ip], ['big-b', B.ip]] as const) {
    sh(`pki --pub --in ${p}.key --type rsa | pki --issue --lifetime 1825 --cacert big-int.crt --cakey big-int.key --dn "${DN(p)}" --san ${ip} --flag serverAuth --flag clientAuth --outform pem > ${p}.crt`);
  }
}

/** The chain into charon `name`'s swanctl folders (before charon.load, which loads them all). */
function giveCharon(name: string): void {
  const d = join(RUN, `charon-${name}`, 'swanctl');
  for (const f of ['big-ca.crt', 'big-int.crt']) copyFileSync(join(DIR, f), join(d, 'x509ca', f));
  for (const f of ['big-a.crt', 'big-b.crt']) copyFileSync(join(DIR, f), join(d, 'x509', f));
  for (const f of ['big-a.key', 'big-b.key']) copyFileSync(join(DIR, f), join(d, 'private', f));
}

function ourConfig(sock: string, me: typeof A | typeof B, peer: typeof A | typeof B, mine: string, theirs: string): string {
  return `global:
  listen: [${me.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  big: { cert: ${DIR}/${mine}.crt, key: ${DIR}/${mine}.key, ca: [${DIR}/big-ca.crt, ${DIR}/big-int.crt] }
connections:
  big:
    auth: rsa
    secret: big
    local:  { address: ${me.ip} }
    remote: { address: ${peer.ip}, id: "${DN(theirs)}" }
    ike: aes256-sha256-modp2048
    esp: aes128-sha256
`;
}

async function assertAgree(ours: Ours, name: string, conn: string): Promise<void> {
  const sa = await until(() => charon.sas(name).find((s) => s.conn === conn && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 15_000);
  assert.ok(sa, `charon has no established ${conn} SA:\n${charon.tail(name)}\n--- ours:\n${ours.log().slice(-3000)}`);
  const status = await until(async () => {
    const s = await ours.status();
    return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
  }, 5000);
  assert.ok(status, `we do not list the IPsec SA: ${JSON.stringify(await ours.status())}`);
  const child = sa.children.find((c) => status.ipsec.some((q: any) => q.spiOut === c.spiIn))!;
  assert.equal(status.ipsec.find((q: any) => q.spiOut === child.spiIn).spiIn, child.spiOut);
  const ka = charon.keys(name).filter((k) => k.uid === sa.uid && k.label === 'encryption key Ka').map((k) => k.hex);
  const line = ours.keylogLines().find((l) => l.startsWith(`${sa.ispi},`));
  assert.ok(ka.length >= 1 && line !== undefined, 'Ka in both logs');
  assert.equal(line.split(',')[1], ka[ka.length - 1]);
}

function fragmentLines(log: string): string {
  return log.split('\n').filter((l) => /fragment/i.test(l)).slice(0, 6).join(' | ');
}

describe('IKE fragmentation with a 4096-bit RSA chain and charon fragmentation = force', { skip, concurrency: false }, () => {
  before(() => {
    assert.equal(script('netns.sh', ['up']).code, 0);
    makeChain();
  });
  after(() => {
    script('netns.sh', ['down']);
  });

  test('charon initiates (its MM5 in fragments), we answer with MM6 in fragments; keys = charon', async () => {
    charon.start('a', A.ns);
    let ours: Ours | undefined;
    try {
      giveCharon('a');
      charon.load('a', 'frag-chain-4096.conf');
      ours = await Ours.start('frag-4096-resp', B.ns, (sock) => ourConfig(sock, B, A, 'big-b', 'big-a'));
      const up = charon.up('a', 'big-out', 'host', 20);
      await assertAgree(ours, 'a', 'big-out').catch((e: Error) => assert.fail(`${e.message}\n${up.out}\n${up.err}`));
      const log = charon.log('a');
      console.log(`# charon (initiator, 4096-bit chain): ${fragmentLines(log)}`);
      assert.match(log, /splitting IKE message \(\d+ bytes\) into \d+ fragments/, 'charon sent its MM5 in fragments');
      assert.match(log, /received fragment #1/, 'our MM6 reached charon in fragments');
      const m = /reassembled fragmented IKE message \((\d+) bytes\)/.exec(log);
      assert.ok(m && Number(m[1]) > 1500, `our MM6 carries the 4096-bit certificate and signature (${m?.[1]} bytes)`);
    } finally {
      await ours?.stop();
      charon.stop('a');
    }
  });

  test('we initiate (our MM5 in fragments), charon answers with MM6 in fragments; keys = charon', async () => {
    charon.start('b', B.ns);
    let ours: Ours | undefined;
    try {
      giveCharon('b');
      charon.load('b', 'frag-chain-4096.conf');
      ours = await Ours.start('frag-4096-init', A.ns, (sock) => ourConfig(sock, A, B, 'big-a', 'big-b'));
      const up = await ours.ctl({ cmd: 'up', name: 'big', timeoutMs: 20_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.log('b').split('\n').slice(-30).join('\n')}`);
      await assertAgree(ours, 'b', 'big-in');
      const log = charon.log('b');
      console.log(`# charon (responder, 4096-bit chain): ${fragmentLines(log)}`);
      assert.match(log, /received fragment #1/, 'our MM5 reached charon in fragments');
      assert.match(log, /splitting IKE message \(\d+ bytes\) into \d+ fragments/, 'charon sent its MM6 in fragments');
    } finally {
      await ours?.stop();
      charon.stop('b');
    }
  });
});
