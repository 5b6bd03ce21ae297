/**
 * Interop with the real strongSwan charon (Debian 12, 5.9.8) in network namespaces, no mocks.
 * charon runs with the fake-xfrm shim (this kernel has no ESP) so Quick Mode completes; our daemon
 * runs in the other namespace as `isakmp daemon`. Every case checks both sides: charon's
 * `swanctl --list-sas` and our `status`, the same SPIs, and our key log against the keys charon
 * logs (keys.py). tshark decrypts one capture with our key log.
 *
 * Run by `npm run test:interop` (root). Uses interop/ only (not ../shared).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { A, B, Ours, RUN, capture, charon, interopSkipReason, script, sleep, until, labDown, labUp, type CharonSa } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# strongSwan interop skipped: ${skip}`);

const PKI = join(RUN, 'pki');

interface P {
  sock: string;
  name: string;
  mode?: 'main' | 'aggressive';
  auth?: 'psk' | 'rsa';
  secret: string;
  local: string;
  localId?: string;
  remote: string;
  remoteId?: string;
  ike: string;
  esp: string;
  ipsecMode?: string;
  localTs?: string;
  remoteTs?: string;
  start?: string;
  extra?: string;
}

/** Our daemon's configuration (the format of docs/config.md). */
function ourConfig(sock: string, listen: string, conns: P[], secrets: string, globalExtra = ''): string {
  return `global:
  listen: [${listen}]
  control_socket: ${sock}
  log: { level: debug }
${globalExtra}secrets:
${secrets}
connections:
${conns
  .map(
    (c) => `  ${c.name}:
    mode: ${c.mode ?? 'main'}
    auth: ${c.auth ?? 'psk'}
    secret: ${c.secret}
    local:  { address: ${c.local}${c.localId ? `, id: "${c.localId}"` : ''} }
    remote: { address: ${c.remote}${c.remoteId ? `, id: "${c.remoteId}"` : ''} }
    ike: ${c.ike}
    esp: ${c.esp}
    ipsec_mode: ${c.ipsecMode ?? 'tunnel'}
${c.localTs ? `    local_ts: "${c.localTs}"\n` : ''}${c.remoteTs ? `    remote_ts: "${c.remoteTs}"\n` : ''}    start: ${c.start ?? 'add'}
    allow_aggressive_psk_responder: true
${c.extra ?? ''}`,
  )
  .join('')}`;
}

const SECRETS = (side: 'a' | 'b', psk = 'peers-mm-psk-secret', am = 'peers-am-psk-secret') => `  mm:
    psk: "${psk}"
    allow_weak_psk: true
  am:
    psk: "${am}"
    allow_weak_psk: true
  cert:
    cert: ${PKI}/peer-${side}.crt
    key: ${PKI}/peer-${side}.key
    ca: [${PKI}/ca.crt, ${PKI}/peer-${side === 'a' ? 'b' : 'a'}.crt]
`;

/** Our key log: ISAKMP lines (cookie -> Ka) and ESP lines (spi -> keys). */
function parseKeylog(lines: string[]): { ike: Map<string, string>; esp: Map<string, { enc: string; integ: string }> } {
  const ike = new Map<string, string>();
  const esp = new Map<string, { enc: string; integ: string }>();
  for (const l of lines) {
    const m = /^([0-9a-f]{16}),([0-9a-f]+)$/.exec(l);
    if (m) {
      ike.set(m[1] as string, m[2] as string);
      continue;
    }
    const f = l.split(',').map((x) => x.replace(/^"|"$/g, ''));
    if (f.length === 8) esp.set((f[3] as string).replace(/^0x/, ''), { enc: (f[5] as string).replace(/^0x/, ''), integ: (f[7] as string).replace(/^0x/, '') });
  }
  return { ike, esp };
}

/**
 * The heart of every case: charon and we agree on the ISAKMP SA (cookies), the IPsec SA (SPIs,
 * crossed) and the keys (our key log = charon's logged Ka and ESP keys).
 */
async function assertAgree(ours: Ours, ch: string, conn: string, ourConn: string, expect: { encr: string; keysize: string; integ: string; dh: string; childEncr?: string; childDh?: string; mode?: string }): Promise<{ sa: CharonSa; status: any }> {
  const sa = await until(() => charon.sas(ch).find((s) => s.conn === conn && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
  assert.ok(sa, `charon has no established ${conn} SA with an INSTALLED child:\n${JSON.stringify(charon.sas(ch))}\n${charon.log(ch).split('\n').slice(-30).join('\n')}`);
  assert.equal(sa.encr, expect.encr);
  assert.equal(sa.keysize, expect.keysize);
  assert.equal(sa.integ, expect.integ);
  assert.equal(sa.dh, expect.dh);
  const status = await until(async () => {
    const s = await ours.status();
    return s.ipsec.some((q: any) => sa.children.some((c) => c.spiIn === q.spiOut)) ? s : undefined;
  }, 5000);
  assert.ok(status, `our daemon does not list the IPsec SA charon has: ${JSON.stringify(await ours.status())}`);
  const p1 = status.isakmp.find((s: any) => s.initiatorCookie === sa.ispi && s.responderCookie === sa.rspi);
  assert.ok(p1, `our ISAKMP SA with cookies ${sa.ispi}/${sa.rspi}: ${JSON.stringify(status.isakmp)}`);
  assert.equal(p1.state, 'established');
  assert.equal(p1.connection, ourConn);
  const child = sa.children.find((c) => status.ipsec.some((q: any) => q.spiOut === c.spiIn));
  assert.ok(child);
  const q = status.ipsec.find((x: any) => x.spiOut === child.spiIn);
  assert.equal(q.spiIn, child.spiOut, 'SPIs crossed: our inbound = charon outbound');
  if (expect.childEncr) assert.equal(child.encr, expect.childEncr);
  if (expect.childDh !== undefined) assert.equal(child.dh, expect.childDh);
  if (expect.mode) assert.equal(child.mode, expect.mode);

  // keys: ours (key log) == charon's (log at ike=4/chd=4), selected by unique id
  const keys = charon.keys(ch).filter((k) => k.uid === sa.uid);
  const log = parseKeylog(ours.keylogLines());
  const ka = keys.filter((k) => k.label === 'encryption key Ka').map((k) => k.hex);
  assert.ok(ka.length >= 1, 'charon logged Ka');
  assert.equal(log.ike.get(sa.ispi), ka[ka.length - 1], 'our ikev1_decryption_table key = charon Ka');
  const ourIn = log.esp.get(child.spiOut);
  const ourOut = log.esp.get(child.spiIn);
  assert.ok(ourIn && ourOut, `our key log has both ESP SAs ${child.spiIn}/${child.spiOut}`);
  const chEnc = new Set(keys.filter((k) => /^encryption (initiator|responder) key$/.test(k.label)).map((k) => k.hex));
  const chInt = new Set(keys.filter((k) => /^integrity (initiator|responder) key$/.test(k.label)).map((k) => k.hex));
  assert.ok(chEnc.has(ourIn.enc) && chEnc.has(ourOut.enc), 'ESP encryption keys = charon');
  assert.ok(chInt.has(ourIn.integ) && chInt.has(ourOut.integ), 'ESP integrity keys = charon');
  return { sa, status };
}

describe('strongSwan interop', { skip, concurrency: false }, () => {
  before(labUp);

  after(labDown);

  describe('our daemon initiates, charon responds', { concurrency: false }, () => {
    let ours: Ours;
    const base = (over: Partial<P>): P => ({
      sock: '',
      name: 'to-charon',
      secret: 'mm',
      local: A.ip,
      remote: B.ip,
      ike: 'aes128-sha256-modp2048',
      esp: 'aes128-sha256-modp2048',
      ...over,
    });
    const cfg = (over: Partial<P>[], secrets = SECRETS('a')) => (sock: string) => ourConfig(sock, A.ip, over.map(base), secrets);
    let sock = '';

    before(async () => {
      charon.start('b', B.ns);
      charon.load('b', 'responder.conf');
      ours = await Ours.start('init', A.ns, cfg([{}]));
      sock = ours.sock;
    });
    after(async () => {
      await ours?.stop();
      charon.stop('b');
    });

    test('Main Mode PSK + Quick Mode PFS: same SPIs, same keys; tshark decrypts MM5/MM6/QM with our key log', async () => {
      const pcap = join(RUN, 'capture', 'mm-psk.pcap');
      const c = capture.start(B.ns, pcap);
      assert.equal(c.code, 0, c.err);
      let up;
      try {
        up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 });
      } finally {
        capture.stop();
      }
      assert.deepEqual(up, { ...up, ok: true }, JSON.stringify(up));
      const { sa } = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', childDh: 'MODP_2048', mode: 'TUNNEL' });
      assert.match(charon.log('b'), /IKE_SA mm-psk\[\d+\] established between 198\.18\.0\.2\[198\.18\.0\.2\]\.\.\.198\.18\.0\.1\[198\.18\.0\.1\]/);

      // tshark, an independent dissector, decrypts our exchange with our key log
      const ka = parseKeylog(ours.keylogLines()).ike.get(sa.ispi) as string;
      const r = spawnSync('tshark', ['-r', pcap, '-n', '-V', '-Y', 'isakmp', '-o', `uat:ikev1_decryption_table:${sa.ispi},${ka}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const frames = r.stdout.split(/\nFrame \d+:/);
      const mm5 = frames.find((f) => f.includes('Exchange type: Identity Protection (Main Mode) (2)') && f.includes('ID_IPV4_ADDR: 198.18.0.1'));
      const mm6 = frames.find((f) => f.includes('Exchange type: Identity Protection (Main Mode) (2)') && f.includes('ID_IPV4_ADDR: 198.18.0.2'));
      assert.ok(mm5, `MM5 decrypted (ID 198.18.0.1 + HASH):\n${r.stdout.slice(0, 4000)}`);
      assert.match(mm5, /Payload: Hash \(8\)/);
      assert.match(mm5, /Payload: Notification \(11\)/);
      assert.match(mm5, /INITIAL-CONTACT/);
      assert.ok(mm6, 'MM6 decrypted (ID 198.18.0.2)');
      assert.match(mm6, /Payload: Hash \(8\)/);
      const qm1 = frames.find((f) => f.includes('Exchange type: Quick Mode (32)') && f.includes('Payload: Key Exchange (4)') && f.includes('Payload: Security Association (1)'));
      assert.ok(qm1, 'Quick Mode 1 decrypted');
      assert.match(qm1, /Transform ID: AES \(12\)/);
      assert.match(qm1, /Key Length: 128/);
      assert.match(qm1, /Authentication Algorithm: HMAC-SHA2-256 \(5\)/);
      assert.match(qm1, /Encapsulation Mode: Tunnel \(1\)/);
      assert.match(qm1, /Group Description: 2048 bit MODP group \(14\)/);
      assert.match(qm1, /Payload: Nonce \(10\)/);
      assert.match(qm1, /ID_IPV4_ADDR: 198\.18\.0\.1/);
      assert.match(qm1, /ID_IPV4_ADDR: 198\.18\.0\.2/);
      const qm3 = frames.filter((f) => f.includes('Exchange type: Quick Mode (32)'));
      assert.ok(qm3.length >= 3, 'three Quick Mode messages');
      assert.match(qm3[2] as string, /Payload: Hash \(8\)/);

      // tshark accepts our esp_sa lines as they are (a malformed line is refused: "Invalid -o flag")
      const espLines = ours.keylogLines().filter((l) => l.startsWith('"'));
      assert.equal(espLines.length, 2);
      const esp = spawnSync('tshark', ['-r', pcap, '-c', '1', '-o', 'esp.enable_encryption_decode:TRUE', ...espLines.flatMap((l) => ['-o', `uat:esp_sa:${l}`])], { encoding: 'utf8' });
      assert.equal(esp.status, 0, esp.stderr);
      assert.ok(!/Invalid -o flag/.test(esp.stderr), esp.stderr);

      // and our own decoder does the same with the same key log
      const dec = spawnSync(process.execPath, ['dist/cli/main.js', 'decode', '--keylog', ours.keylog, pcap], { encoding: 'utf8' });
      assert.equal(dec.status, 0, dec.stderr);
      assert.ok((dec.stdout.match(/decrypted with the key log/g) ?? []).length >= 5, dec.stdout.slice(0, 3000));
      assert.match(dec.stdout, /Identification data: address=198\.18\.0\.1/);
      assert.match(dec.stdout, /Notify message type: INITIAL_CONTACT \(24578\)/);

      // delete from our side: charon sees the Deletes and drops both SAs
      const dn = await ours.ctl({ cmd: 'down', name: 'to-charon' });
      assert.equal(dn.ok, true, JSON.stringify(dn));
      const gone = await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000);
      assert.ok(gone, 'charon removed the IKE_SA after our Delete');
      assert.match(charon.log('b'), /received DELETE for IKE_SA mm-psk/);
    });

    for (const [ike, esp, expect] of [
      ['aes256-sha256-modp2048', 'aes256-sha256-modp2048', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' }],
      ['aes128-sha1-modp2048', 'aes128-sha1-modp2048', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA1_96', dh: 'MODP_2048', childEncr: 'AES_CBC-128', childDh: 'MODP_2048' }],
      ['aes256-sha1-modp2048', 'aes256-sha1', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA1_96', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: '' }],
      ['aes128-sha256-ecp256', 'aes128-sha256-ecp256', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'ECP_256', childEncr: 'AES_CBC-128', childDh: 'ECP_256' }],
      ['aes256-sha256-ecp256', 'aes256-sha256', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'ECP_256', childEncr: 'AES_CBC-256', childDh: '' }],
      ['aes128-sha1-ecp256', 'aes128-sha1-ecp256', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA1_96', dh: 'ECP_256', childEncr: 'AES_CBC-128', childDh: 'ECP_256' }],
      ['aes256-sha1-ecp256', 'aes256-sha1-modp2048', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA1_96', dh: 'ECP_256', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' }],
    ] as const) {
      test(`Main Mode PSK ${ike}, Quick Mode ${esp} (reload, up, keys, down)`, async () => {
        const rl = await ours.reload(cfg([{ ike, esp }])(sock));
        assert.equal(rl.ok, true, JSON.stringify(rl));
        const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 });
        assert.equal(up.ok, true, JSON.stringify(up));
        await assertAgree(ours, 'b', 'mm-psk', 'to-charon', expect);
        assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
        assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000));
      });
    }

    test('transport mode with UDP selectors', async () => {
      const rl = await ours.reload(cfg([{ esp: 'aes128-sha1-modp2048', ipsecMode: 'transport', localTs: `${A.ip}/32[udp]`, remoteTs: `${B.ip}/32[udp]` }])(sock));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 });
      assert.equal(up.ok, true, JSON.stringify(up));
      const { sa } = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', mode: 'TRANSPORT' });
      assert.equal(sa.children[0]?.name, 'transport');
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
    });

    test('forced UDP encapsulation (encap: true) in transport mode: charon sees our faked NAT, both float, UDP-encapsulated transport (mode 4) with NAT-OA', async () => {
      const rl = await ours.reload(cfg([{ esp: 'aes128-sha1-modp2048', ipsecMode: 'transport', localTs: `${A.ip}/32[udp]`, remoteTs: `${B.ip}/32[udp]`, extra: '    encap: true\n' }])(sock));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.log('b').split('\n').slice(-30).join('\n')}`);
      const { sa, status } = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', mode: 'TRANSPORT' });
      const child = sa.children.find((c) => c.state === 'INSTALLED')!;
      assert.equal(child.encap, 'yes', JSON.stringify(sa));
      const q = status.ipsec.find((x: any) => x.spiOut === child.spiIn);
      assert.deepEqual([q.mode, q.udpEncapsulation], ['transport', true]);
      const p1 = status.isakmp.find((x: any) => x.initiatorCookie === sa.ispi);
      assert.deepEqual([p1.local, p1.remote], [`${A.ip}:4500`, `${B.ip}:4500`]);
      assert.match(ours.log(), /"peer_oa":"198\.18\.0\.2"/, 'charon\'s NAT-OA reached us: its own address');
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
      assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000));
    });

    test('Dead Peer Detection (RFC 3706): charon announced DPD, answers our R-U-THERE with the right sequence number', async () => {
      const rl = await ours.reload(cfg([{ extra: '    dpd_delay: 1s\n    dpd_timeout: 10s\n' }])(sock));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      assert.equal((await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 })).ok, true);
      await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      const acked = await until(() => /"msg":"DPD: R-U-THERE-ACK".*"answers":true/.test(ours.log()), 8000);
      assert.ok(acked, `charon answered our R-U-THERE:\n${ours.log().split('\n').filter((l) => /DPD|notify/.test(l)).join('\n')}`);
      assert.doesNotMatch(ours.log(), /DPD: peer does not answer/);
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
      assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000));
    });

    test('rekey of the IPsec SA, then of the ISAKMP SA (by SA id)', async () => {
      const rl = await ours.reload(cfg([{}])(sock));
      assert.equal(rl.ok, true);
      assert.equal((await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 })).ok, true);
      const first = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      const oldChild = first.sa.children[0] as NonNullable<typeof first.sa.children[0]>;
      const ourQ = first.status.ipsec.find((q: any) => q.spiOut === oldChild.spiIn);
      // IPsec SA: a new Quick Mode; charon installs the new CHILD_SA; the old one goes away
      const rk = await ours.ctl({ cmd: 'rekey', name: ourQ.id });
      assert.deepEqual(rk, { ok: true, message: `${ourQ.id}: rekeying 1 SA` });
      const fresh = await until(() => {
        const sa = charon.sas('b').find((s) => s.ispi === first.sa.ispi);
        return sa?.children.find((c) => c.spiIn !== oldChild.spiIn && c.state === 'INSTALLED');
      }, 10_000);
      assert.ok(fresh, `charon installed the rekeyed CHILD_SA: ${JSON.stringify(charon.sas('b'))}`);
      const st = await until(async () => {
        const s = await ours.status();
        return s.ipsec.find((q: any) => q.spiOut === fresh.spiIn);
      }, 5000);
      assert.ok(st, 'we list the rekeyed IPsec SA');
      assert.equal(st.spiIn, fresh.spiOut);
      assert.ok(await until(async () => !(await ours.status()).ipsec.some((q: any) => q.id === ourQ.id), 5000), 'our old IPsec SA is gone');
      assert.equal((await ours.status()).counters.rekeyed.ipsec >= 1, true);
      // ISAKMP SA: a new phase 1 with the peer; both sides list the new cookies and agree on Ka
      const p1id = first.status.isakmp.find((x: any) => x.initiatorCookie === first.sa.ispi).id;
      const rk2 = await ours.ctl({ cmd: 'rekey', name: p1id });
      assert.equal(rk2.ok, true, JSON.stringify(rk2));
      const newIke = await until(() => charon.sas('b').find((s) => s.conn === 'mm-psk' && s.ispi !== first.sa.ispi && s.state === 'ESTABLISHED'), 10_000);
      assert.ok(newIke, `charon has the new ISAKMP SA: ${JSON.stringify(charon.sas('b'))}`);
      const ka = charon.keys('b').filter((k) => k.uid === newIke.uid && k.label === 'encryption key Ka').map((k) => k.hex);
      assert.equal(parseKeylog(ours.keylogLines()).ike.get(newIke.ispi), ka[ka.length - 1]);
      assert.ok(await until(async () => (await ours.status()).isakmp.some((x: any) => x.initiatorCookie === newIke.ispi && x.state === 'established'), 5000));
      await ours.ctl({ cmd: 'down', name: 'to-charon' });
      charon.down('b', 'mm-psk');
      assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000), JSON.stringify(charon.sas('b')));
      assert.ok(await until(async () => (await ours.status()).ipsec.length === 0, 5000), JSON.stringify((await ours.status()).ipsec));
    });

    test('Delete from charon: our daemon drops the SAs', async () => {
      assert.equal((await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 })).ok, true);
      await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      const d = charon.down('b', 'mm-psk');
      assert.equal(d.code, 0, d.err);
      const st = await until(async () => {
        const s = await ours.status();
        return s.isakmp.length === 0 && s.ipsec.length === 0 ? s : undefined;
      }, 5000);
      assert.ok(st, `our SAs are gone after charon's Delete: ${JSON.stringify(await ours.status())}`);
      assert.ok(st.counters.deleted.isakmp >= 1);
      assert.match(ours.log(), /"msg":"ISAKMP SA deleted".*"by":"peer"/);
    });

    test('Aggressive Mode PSK with FQDN identities, Quick Mode without PFS', async () => {
      const rl = await ours.reload(
        cfg([{ name: 'am', mode: 'aggressive', secret: 'am', localId: '@peer-a.peers.test', remoteId: '@peer-b.peers.test', ike: 'aes256-sha1-ecp256', esp: 'aes128-sha1' }])(sock),
      );
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const up = await ours.ctl({ cmd: 'up', name: 'am', timeoutMs: 10_000 });
      assert.equal(up.ok, true, JSON.stringify(up));
      await assertAgree(ours, 'b', 'am-psk', 'am', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA1_96', dh: 'ECP_256', childEncr: 'AES_CBC-128', childDh: '' });
      assert.equal((await ours.ctl({ cmd: 'down', name: 'am' })).ok, true);
    });

    test('Main Mode RSA signatures with certificates from a throw-away CA', async () => {
      const rl = await ours.reload(
        cfg([{ name: 'rsa', auth: 'rsa', secret: 'cert', remoteId: 'C=CH, O=peers-test, CN=peer-b', ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256-modp2048' }])(sock),
      );
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const up = await ours.ctl({ cmd: 'up', name: 'rsa', timeoutMs: 10_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.log('b').split('\n').slice(-15).join('\n')}`);
      await assertAgree(ours, 'b', 'mm-rsa', 'rsa', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' });
      assert.equal((await ours.ctl({ cmd: 'down', name: 'rsa' })).ok, true);
    });

    test('IKE fragmentation: our fragmentation: force with fragment_size 548 sends MM5 in fragments, charon reassembles; keys = charon', async () => {
      const rl = await ours.reload(
        cfg([{ name: 'rsa', auth: 'rsa', secret: 'cert', remoteId: 'C=CH, O=peers-test, CN=peer-b', ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256-modp2048', extra: '    fragmentation: force\n    fragment_size: 548\n' }])(sock),
      );
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const before = charon.log('b').length;
      const up = await ours.ctl({ cmd: 'up', name: 'rsa', timeoutMs: 10_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.log('b').split('\n').slice(-15).join('\n')}`);
      // charon as responder picks its first config for these identities (mm-rsa, fragmentation = yes)
      await assertAgree(ours, 'b', 'mm-rsa', 'rsa', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' });
      const log = charon.log('b').slice(before);
      console.log(`# charon (responder) on fragments: ${log.split('\n').filter((l) => /fragment/i.test(l)).slice(0, 4).join(' | ')}`);
      assert.match(log, /received fragment #1/, 'our MM5 reached charon in fragments');
      assert.equal((await ours.ctl({ cmd: 'down', name: 'rsa' })).ok, true);
    });

    test('wrong PSK: both sides fail and say why', async () => {
      const rl = await ours.reload(cfg([{}], SECRETS('a', 'not-the-right-secret'))(sock));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 4000 }, 10_000);
      assert.equal(up.ok, false);
      console.log(`# wrong PSK, our side: ${(up as { error: string }).error}`);
      assert.match((up as { error: string }).error, /^connection 'to-charon' (failed: |not established within 4 s \().*check that both sides use the same pre-shared key/);
      assert.ok(!charon.sas('b').some((s) => s.conn === 'mm-psk' && s.state === 'ESTABLISHED'));
      // charon cannot parse MM5 encrypted with the wrong key
      assert.ok(await until(() => /decryption failed|could not decrypt payloads|invalid HASH_V1/.test(charon.log('b')), 5000), charon.log('b').split('\n').slice(-10).join('\n'));
      assert.equal((await ours.status()).ipsec.length, 0);
    });
  });

  describe('NAT traversal (RFC 3947): charon with its libipsec backend, which fakes a NAT', { concurrency: false }, () => {
    let ours: Ours;
    before(async () => {
      charon.start('b', B.ns, 'libipsec');
      charon.load('b', 'responder.conf');
      ours = await Ours.start('natt', A.ns, (sock) =>
        ourConfig(sock, A.ip, [{ sock: '', name: 'to-charon', secret: 'mm', local: A.ip, remote: B.ip, ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256-modp2048' }], SECRETS('a')),
      );
    });
    after(async () => {
      await ours?.stop();
      charon.stop('b');
    });

    test('Main Mode PSK + Quick Mode: NAT-D detects the NAT, both float to 4500, UDP-encapsulated tunnel (mode 3), same SPIs and keys', async () => {
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 15_000 });
      assert.equal(up.ok, true, `${JSON.stringify(up)}\n${charon.tail('b')}`);
      const { sa, status } = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', childDh: 'MODP_2048', mode: 'TUNNEL' });
      const child = sa.children.find((c) => c.state === 'INSTALLED')!;
      assert.equal(child.encap, 'yes', `charon's CHILD_SA is UDP-encapsulated: ${JSON.stringify(sa)}`);
      const p1 = status.isakmp.find((x: any) => x.initiatorCookie === sa.ispi);
      // charon's fake NAT: the NAT-D hash of its own address does not match, so for us the NAT is in front of the peer
      assert.deepEqual(p1.nat, { local: false, remote: true, encapsulation: true }, JSON.stringify(p1));
      assert.equal(p1.local, `${A.ip}:4500`);
      assert.equal(p1.remote, `${B.ip}:4500`);
      const q = status.ipsec.find((x: any) => x.spiOut === child.spiIn);
      assert.deepEqual([q.mode, q.udpEncapsulation], ['tunnel', true]);
      assert.match(charon.log('b'), /198\.18\.0\.2\[4500\] to 198\.18\.0\.1\[4500\]/, 'charon answers from and to the NAT-T port');
      assert.match(ours.log(), /"udp_encap":true/);
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
      assert.ok(await until(() => !charon.sas('b').some((s) => s.conn === 'mm-psk'), 5000), 'charon removed the SAs after our Deletes on port 4500');
    });

    test('charon initiates from behind its fake NAT: we answer on 4500 where it floated, UDP-encapsulated tunnel, same keys', async () => {
      await ours.stop();
      charon.stop('b');
      charon.start('a', A.ns, 'libipsec');
      charon.load('a', 'initiator.conf');
      ours = await Ours.start('natt-resp', B.ns, (sock) =>
        ourConfig(sock, B.ip, [{ sock: '', name: 'mm', secret: 'mm', local: B.ip, remote: A.ip, ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256-modp2048' }], SECRETS('b')),
      );
      try {
        const r = charon.up('a', 'mm-psk', 'pfs');
        assert.equal(r.code, 0, r.out + r.err);
        const { sa, status } = await assertAgree(ours, 'a', 'mm-psk', 'mm', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', childDh: 'MODP_2048', mode: 'TUNNEL' });
        assert.equal(sa.children.find((c) => c.state === 'INSTALLED')?.encap, 'yes');
        const p1 = status.isakmp.find((x: any) => x.initiatorCookie === sa.ispi);
        assert.deepEqual(p1.nat, { local: false, remote: true, encapsulation: true }, JSON.stringify(p1));
        assert.deepEqual([p1.local, p1.remote], [`${B.ip}:4500`, `${A.ip}:4500`], 'the responder followed the initiator to the NAT-T port');
        const q = status.ipsec.find((x: any) => sa.children.some((c) => c.spiIn === x.spiOut));
        assert.deepEqual([q.mode, q.udpEncapsulation], ['tunnel', true]);
        charon.down('a', 'mm-psk');
        assert.ok(await until(async () => (await ours.status()).isakmp.length === 0, 5000), 'charon\'s Deletes on 4500 reach us');
      } finally {
        charon.stop('a');
      }
    });

    test('Aggressive Mode PSK from behind charon\'s fake NAT: NAT-D in AM2 and AM3, charon sends AM3 on 4500, we follow; UDP-encapsulated tunnel, same keys', async () => {
      await ours.stop();
      charon.start('a', A.ns, 'libipsec');
      charon.load('a', 'initiator.conf');
      ours = await Ours.start('natt-am-resp', B.ns, (sock) =>
        ourConfig(
          sock,
          B.ip,
          [{ sock: '', name: 'am', mode: 'aggressive', secret: 'am', local: B.ip, localId: '@peer-b.peers.test', remote: A.ip, remoteId: '@peer-a.peers.test', ike: 'aes256-sha1-ecp256', esp: 'aes128-sha1' }],
          SECRETS('b'),
        ),
      );
      try {
        const r = charon.up('a', 'am-psk', 'host');
        assert.equal(r.code, 0, r.out + r.err);
        const { sa, status } = await assertAgree(ours, 'a', 'am-psk', 'am', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA1_96', dh: 'ECP_256', childEncr: 'AES_CBC-128', childDh: '' });
        assert.equal(sa.children.find((c) => c.state === 'INSTALLED')?.encap, 'yes');
        const p1 = status.isakmp.find((x: any) => x.initiatorCookie === sa.ispi);
        assert.equal(p1.exchange, 'aggressive');
        assert.deepEqual(p1.nat, { local: false, remote: true, encapsulation: true }, JSON.stringify(p1));
        assert.deepEqual([p1.local, p1.remote], [`${B.ip}:4500`, `${A.ip}:4500`], 'the responder followed the initiator to the NAT-T port after AM3');
        assert.match(charon.log('a'), /sending packet: from 198\.18\.0\.1\[4500\] to 198\.18\.0\.2\[4500\]/, 'charon moved to 4500 for AM3');
        const q = status.ipsec.find((x: any) => sa.children.some((c) => c.spiIn === x.spiOut));
        assert.deepEqual([q.mode, q.udpEncapsulation], ['tunnel', true]);
        charon.down('a', 'am-psk');
        assert.ok(await until(async () => (await ours.status()).isakmp.length === 0, 5000), 'charon\'s Deletes on 4500 reach us');
      } finally {
        charon.stop('a');
      }
    });
  });

  describe('dataplane xfrm on a kernel without ESP', { concurrency: false }, () => {
    let ours: Ours | undefined;
    before(() => {
      charon.start('b', B.ns);
      charon.load('b', 'responder.conf');
    });
    after(async () => {
      await ours?.stop();
      charon.stop('b');
    });
    test('the kernel refuses the ESP SA: status says so in the kernel\'s words, the IKE side stays correct', async () => {
      ours = await Ours.start('xfrm', A.ns, (sock) =>
        ourConfig(sock, A.ip, [{ sock, name: 'to-charon', secret: 'mm', local: A.ip, remote: B.ip, ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256-modp2048' }], SECRETS('a'), '  dataplane: xfrm\n'),
      );
      const up = await ours.ctl({ cmd: 'up', name: 'to-charon', timeoutMs: 10_000 });
      assert.equal(up.ok, true, JSON.stringify(up));
      const { sa } = await assertAgree(ours, 'b', 'mm-psk', 'to-charon', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      const child = sa.children[0] as NonNullable<typeof sa.children[0]>;
      const q = await until(async () => {
        const st = await ours!.status();
        const x = st.ipsec.find((i: any) => i.spiOut === child.spiIn);
        return x?.dataplane?.startsWith('failed') ? { x, st } : undefined;
      }, 5000);
      assert.ok(q, JSON.stringify(await ours.status()));
      assert.equal(q.st.dataplane, 'xfrm');
      assert.match(q.x.dataplane, new RegExp(`^failed: kernel refused ESP SA 198\\.18\\.0\\.1 -> 198\\.18\\.0\\.2 spi 0x${child.spiIn}: Requested type not found \\(errno 93 EPROTONOSUPPORT\\)$`));
      assert.equal(q.st.counters.dataplaneFailures, 1);
      assert.match(ours.log(), /"area":"dataplane".*kernel refused ESP SA.*the IKE SAs stay up/);
      assert.ok(!/0x[0-9a-f]{32}/.test(ours.log()), 'no key in the log');
      // nothing half-installed is left in the namespace's kernel tables: no policy for the SA's
      // selectors (only the IKE bypass policies, UDP 500/4500)
      const pol = spawnSync('ip', ['netns', 'exec', A.ns, 'ip', 'xfrm', 'policy', 'list'], { encoding: 'utf8' });
      assert.ok(!pol.stdout.includes('src 198.18.0.1/32 dst 198.18.0.2/32'), pol.stdout);
      assert.match(pol.stdout, /proto udp sport 500/);
      assert.equal((await ours.ctl({ cmd: 'down', name: 'to-charon' })).ok, true);
    });

    test('on-demand: traffic between the inner addresses triggers the negotiation (kernel acquire)', async () => {
      assert.ok(ours);
      const rl = await ours.reload(
        ourConfig(
          ours.sock,
          A.ip,
          [{ sock: ours.sock, name: 'od', secret: 'mm', local: A.ip, remote: B.ip, ike: 'aes128-sha256-modp2048', esp: 'aes256-sha256', localTs: `${A.inner}/32`, remoteTs: `${B.inner}/32`, start: 'on-demand' }],
          SECRETS('a'),
          '  dataplane: xfrm\n',
        ),
      );
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const trap = spawnSync('ip', ['-n', A.ns, 'xfrm', 'policy', 'list'], { encoding: 'utf8' }).stdout;
      assert.match(trap, /src 198\.18\.0\.129\/32 dst 198\.18\.0\.130\/32[\s\S]*?dir out priority 2000[\s\S]*?tmpl src 198\.18\.0\.1 dst 198\.18\.0\.2/, trap);
      assert.equal((await ours.status()).isakmp.length, 0, 'nothing negotiated before traffic');
      // one UDP datagram from the inner address to the peer's inner address
      const send = spawnSync('ip', ['netns', 'exec', A.ns, 'python3', '-c', "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('198.18.0.129', 0))\ntry:\n  s.sendto(b'x', ('198.18.0.130', 9))\nexcept OSError:\n  pass"], { encoding: 'utf8' });
      assert.equal(send.status, 0, send.stderr);
      const sa = await until(() => charon.sas('b').find((x) => x.conn === 'mm-psk' && x.children.some((c) => c.name === 'inner' && c.state === 'INSTALLED')), 10_000);
      assert.ok(sa, `charon established the inner CHILD_SA after our acquire: ${JSON.stringify(charon.sas('b'))}\n${ours.log().split('\n').slice(-10).join('\n')}`);
      assert.match(ours.log(), /on-demand: traffic for the connection, initiating","connection":"od"/);
      const st = await until(async () => (await ours!.status()).ipsec.find((q: any) => q.connection === 'od'), 5000);
      assert.ok(st);
      assert.equal(st.localTs, '198.18.0.129');
      assert.equal(st.remoteTs, '198.18.0.130');
      assert.equal((await ours.ctl({ cmd: 'down', name: 'od' })).ok, true);
    });
  });

  describe('charon initiates, our daemon responds', { concurrency: false }, () => {
    let ours: Ours;
    const conns = (over: Partial<P>[] = []): P[] => [
      { sock: '', name: 'mm', secret: 'mm', local: B.ip, remote: A.ip, ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256-modp2048', ...over[0] },
      { sock: '', name: 'rsa', auth: 'rsa', secret: 'cert', local: B.ip, remote: A.ip, remoteId: 'C=CH, O=peers-test, CN=peer-a', ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256-modp2048' },
      { sock: '', name: 'am', mode: 'aggressive', secret: 'am', local: B.ip, localId: '@peer-b.peers.test', remote: A.ip, remoteId: '@peer-a.peers.test', ike: 'aes256-sha1-ecp256', esp: 'aes128-sha1' },
    ];
    let sock = '';

    before(async () => {
      charon.start('a', A.ns);
      charon.load('a', 'initiator.conf');
      ours = await Ours.start('resp', B.ns, (s) => ourConfig(s, B.ip, conns(), SECRETS('b')));
      sock = ours.sock;
    });
    after(async () => {
      await ours?.stop();
      charon.stop('a');
    });

    test('Main Mode PSK + Quick Mode PFS MODP2048 (charon child pfs)', async () => {
      const r = charon.up('a', 'mm-psk', 'pfs');
      assert.equal(r.code, 0, r.out + r.err);
      await assertAgree(ours, 'a', 'mm-psk', 'mm', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-128', childDh: 'MODP_2048' });
    });

    test('second Quick Mode on the same ISAKMP SA without PFS, inner selectors (charon child nopfs)', async () => {
      const rl = await ours.reload(ourConfig(sock, B.ip, conns([{ esp: 'aes256-sha256', localTs: '198.18.0.130/32', remoteTs: '198.18.0.129/32' }]), SECRETS('b')));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      const r = charon.up('a', 'mm-psk', 'nopfs');
      assert.equal(r.code, 0, r.out + r.err);
      const sa = await until(() => charon.sas('a').find((s) => s.conn === 'mm-psk' && s.children.some((c) => c.name === 'nopfs' && c.state === 'INSTALLED')), 5000);
      assert.ok(sa, JSON.stringify(charon.sas('a')));
      const child = sa.children.find((c) => c.name === 'nopfs') as NonNullable<typeof sa.children[0]>;
      assert.equal(child.dh, '');
      assert.equal(child.localTs, '198.18.0.129/32');
      const st = await until(async () => {
        const s = await ours.status();
        return s.ipsec.find((q: any) => q.spiOut === child.spiIn);
      }, 5000);
      assert.ok(st, 'we have the nopfs IPsec SA');
      assert.equal(st.spiIn, child.spiOut);
      assert.equal(st.localTs, '198.18.0.130');
      assert.equal(st.remoteTs, '198.18.0.129');
    });

    test('Quick Mode AES-256/SHA1 with PFS ECP256, and transport mode (charon children pfs-ecp, transport)', async () => {
      let rl = await ours.reload(ourConfig(sock, B.ip, conns([{ esp: 'aes256-sha1-ecp256' }]), SECRETS('b')));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      let r = charon.up('a', 'mm-psk', 'pfs-ecp');
      assert.equal(r.code, 0, r.out + r.err);
      await assertAgree(ours, 'a', 'mm-psk', 'mm', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'ECP_256' });
      rl = await ours.reload(ourConfig(sock, B.ip, conns([{ esp: 'aes128-sha1-modp2048', ipsecMode: 'transport', localTs: `${B.ip}/32[udp]`, remoteTs: `${A.ip}/32[udp]` }]), SECRETS('b')));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      r = charon.up('a', 'mm-psk', 'transport');
      assert.equal(r.code, 0, r.out + r.err);
      const sa = await until(() => charon.sas('a').find((s) => s.conn === 'mm-psk' && s.children.some((c) => c.name === 'transport' && c.state === 'INSTALLED')), 5000);
      assert.ok(sa, JSON.stringify(charon.sas('a')));
      const child = sa.children.find((c) => c.name === 'transport') as NonNullable<typeof sa.children[0]>;
      assert.equal(child.mode, 'TRANSPORT');
      const q = await until(async () => (await ours.status()).ipsec.find((x: any) => x.spiOut === child.spiIn), 5000);
      assert.ok(q);
      assert.equal(q.mode, 'transport');
      assert.equal(q.localTs, `${B.ip}[17]`);
      charon.down('a', 'mm-psk');
      assert.ok(await until(async () => (await ours.status()).isakmp.length === 0, 5000));
    });

    test('Delete from charon (ESP SAs, then the ISAKMP SA) reaches us', async () => {
      assert.equal((await ours.reload(ourConfig(sock, B.ip, conns(), SECRETS('b')))).ok, true);
      const r = charon.up('a', 'mm-psk', 'pfs');
      assert.equal(r.code, 0, r.out + r.err);
      const d = charon.down('a', 'mm-psk');
      assert.equal(d.code, 0, d.err);
      const st = await until(async () => {
        const s = await ours.status();
        return s.isakmp.filter((x: any) => x.connection === 'mm').length === 0 && s.ipsec.length === 0 ? s : undefined;
      }, 5000);
      assert.ok(st, JSON.stringify(await ours.status()));
    });

    test('charon rekeys the IPsec SA; then we delete everything (our Delete as responder)', async () => {
      const r = charon.up('a', 'mm-psk', 'pfs');
      assert.equal(r.code, 0, r.out + r.err);
      const first = await assertAgree(ours, 'a', 'mm-psk', 'mm', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      const old = first.sa.children.find((c) => c.name === 'pfs') as NonNullable<typeof first.sa.children[0]>;
      const rk = script('charon.sh', ['swanctl', 'a', '--rekey', '--child', 'pfs']);
      assert.equal(rk.code, 0, rk.out + rk.err);
      const fresh = await until(() => charon.sas('a').flatMap((s) => s.children).find((c) => c.name === 'pfs' && c.spiIn !== old.spiIn && c.state === 'INSTALLED'), 10_000);
      assert.ok(fresh, `charon rekeyed the CHILD_SA: ${JSON.stringify(charon.sas('a'))}`);
      const q = await until(async () => (await ours.status()).ipsec.find((x: any) => x.spiOut === fresh.spiIn), 5000);
      assert.ok(q, 'we list the rekeyed IPsec SA');
      assert.equal(q.spiIn, fresh.spiOut);
      const ka = charon.keys('a').filter((k) => k.uid === first.sa.uid && /^encryption (initiator|responder) key$/.test(k.label)).map((k) => k.hex);
      const mine = parseKeylog(ours.keylogLines()).esp.get(fresh.spiOut);
      assert.ok(mine && ka.includes(mine.enc), 'rekeyed ESP key = charon');
      // our Delete, as the responder of that ISAKMP SA
      const dn = await ours.ctl({ cmd: 'down', name: 'mm' });
      assert.equal(dn.ok, true, JSON.stringify(dn));
      assert.ok(await until(() => !charon.sas('a').some((s) => s.conn === 'mm-psk'), 5000), JSON.stringify(charon.sas('a')));
      assert.match(charon.log('a'), /received DELETE for IKE_SA mm-psk/);
    });

    test('Aggressive Mode PSK (charon am-psk)', async () => {
      const r = charon.up('a', 'am-psk', 'host');
      assert.equal(r.code, 0, r.out + r.err);
      await assertAgree(ours, 'a', 'am-psk', 'am', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA1_96', dh: 'ECP_256', childEncr: 'AES_CBC-128', childDh: '' });
      charon.down('a', 'am-psk');
    });

    test('Main Mode RSA signatures (charon mm-rsa)', async () => {
      const r = charon.up('a', 'mm-rsa', 'host');
      assert.equal(r.code, 0, r.out + r.err + '\n' + ours.log().split('\n').slice(-10).join('\n'));
      await assertAgree(ours, 'a', 'mm-rsa', 'rsa', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' });
      charon.down('a', 'mm-rsa');
    });

    test('IKE fragmentation as responder: charon mm-rsa-frag (fragmentation = force) initiates; keys = charon', async () => {
      const before = charon.log('a').length;
      const r = charon.up('a', 'mm-rsa-frag', 'host');
      assert.equal(r.code, 0, r.out + r.err + '\n' + ours.log().split('\n').slice(-10).join('\n'));
      await assertAgree(ours, 'a', 'mm-rsa-frag', 'rsa', { encr: 'AES_CBC', keysize: '256', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048', childEncr: 'AES_CBC-256', childDh: 'MODP_2048' });
      const log = charon.log('a').slice(before);
      console.log(`# charon (initiator) on fragments: ${log.split('\n').filter((l) => /fragment/i.test(l)).slice(0, 4).join(' | ')}`);
      assert.match(log, /splitting IKE message \(\d+ bytes\) into \d+ fragments/, 'charon sent its MM5 in fragments');
      assert.match(log, /received fragment #1/, 'our MM6 reached charon in fragments');
      charon.down('a', 'mm-rsa-frag');
    });

    test('proposal matrix as responder: AES-128/256 x SHA1/SHA2-256 x MODP2048/ECP256 (charon initiator-matrix.conf)', async () => {
      charon.load('a', 'initiator-matrix.conf');
      const all = 'aes128-sha1-modp2048, aes128-sha1-ecp256, aes128-sha256-modp2048, aes128-sha256-ecp256, aes256-sha1-modp2048, aes256-sha1-ecp256, aes256-sha256-modp2048, aes256-sha256-ecp256';
      const rl = await ours.reload(ourConfig(sock, B.ip, conns([{ ike: all, esp: 'aes128-sha1, aes128-sha256, aes256-sha1, aes256-sha256' }]), SECRETS('b')));
      assert.equal(rl.ok, true, JSON.stringify(rl));
      for (const enc of ['aes128', 'aes256'])
        for (const hash of ['sha1', 'sha256'])
          for (const group of ['modp2048', 'ecp256']) {
            const name = `m-${enc}-${hash}-${group}`;
            const r = charon.up('a', name, 'host');
            assert.equal(r.code, 0, `${name}: ${r.out}${r.err}`);
            await assertAgree(ours, 'a', name, 'mm', {
              encr: 'AES_CBC',
              keysize: enc.slice(3),
              integ: hash === 'sha1' ? 'HMAC_SHA1_96' : 'HMAC_SHA2_256_128',
              dh: group === 'modp2048' ? 'MODP_2048' : 'ECP_256',
              childEncr: `AES_CBC-${enc.slice(3)}`,
              childDh: '',
            });
            const st = await ours.status();
            assert.ok(st.isakmp.some((x: any) => x.algorithms === `${enc}-${hash}-${group} psk`), JSON.stringify(st.isakmp));
            charon.down('a', name);
            assert.ok(await until(async () => (await ours.status()).isakmp.length === 0, 5000), `${name}: our SAs after charon's Delete`);
          }
      charon.load('a', 'initiator.conf');
    });

    test('charon restarted without Deletes: its INITIAL-CONTACT clears our stale SAs', async () => {
      const rl = await ours.reload(ourConfig(sock, B.ip, conns(), SECRETS('b')));
      assert.equal(rl.ok, true);
      assert.equal(charon.up('a', 'mm-psk', 'pfs').code, 0);
      const old = await assertAgree(ours, 'a', 'mm-psk', 'mm', { encr: 'AES_CBC', keysize: '128', integ: 'HMAC_SHA2_256_128', dh: 'MODP_2048' });
      // kill charon hard (our own child, by pid): no Delete leaves it
      const pid = charon.pid('a');
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      await until(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 5000);
      assert.equal((await ours.status()).isakmp.filter((s: any) => s.connection === 'mm').length, 1, 'stale SA still there');
      charon.start('a', A.ns);
      charon.load('a', 'initiator.conf');
      assert.equal(charon.up('a', 'mm-psk', 'pfs').code, 0);
      const st = await until(async () => {
        const s = await ours.status();
        const mm = s.isakmp.filter((x: any) => x.connection === 'mm');
        return mm.length === 1 && mm[0].initiatorCookie !== old.sa.ispi ? s : undefined;
      }, 5000);
      assert.ok(st, `only the new ISAKMP SA is left: ${JSON.stringify((await ours.status()).isakmp)}`);
      assert.ok(!st.ipsec.some((q: any) => q.isakmpSa === old.status.isakmp[0]?.id), 'stale IPsec SAs gone');
    });

    test('wrong PSK: charon fails, we count the failure and say why', async () => {
      charon.down('a', 'mm-psk');
      const before = (await ours.status()).counters;
      const rl = await ours.reload(ourConfig(sock, B.ip, conns(), SECRETS('b', 'wrong-secret')));
      assert.equal(rl.ok, true);
      const r = charon.up('a', 'mm-psk', 'pfs', 6);
      assert.notEqual(r.code, 0);
      const st = await until(async () => {
        const s = await ours.status();
        const dropped = Object.values(s.counters.dropped as Record<string, number>).reduce((a, b) => a + b, 0);
        const failed = Object.values(s.counters.exchanges.failed.isakmp as Record<string, number>).reduce((a, b) => a + b, 0);
        const d0 = Object.values(before.dropped as Record<string, number>).reduce((a, b) => a + b, 0);
        const f0 = Object.values(before.exchanges.failed.isakmp as Record<string, number>).reduce((a, b) => a + b, 0);
        return dropped > d0 || failed > f0 ? s : undefined;
      }, 5000);
      assert.ok(st, `our daemon records the failed MM5: ${JSON.stringify((await ours.status()).counters)}`);
      assert.equal(st.ipsec.length, 0);
      await sleep(10);
    });
  });
});
