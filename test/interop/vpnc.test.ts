/**
 * vpnc, the Cisco-style IKEv1 remote-access client (Debian package vpnc, installed by
 * interop/install.sh), against our gateway: Aggressive Mode with a group pre-shared key whose
 * group name goes out as an ID_KEY_ID identity, XAUTH (user name and password), Mode Config pull
 * with Cisco Unity attributes (split include, banner, default domain), then its Quick Mode for
 * the leased address. vpnc does ESP itself over a tun device, so it needs no kernel transforms;
 * our gateway runs without a dataplane, except in the last block (several local_ts: our kernel
 * policies, with the fake-xfrm shim). Each case reads both sides: what vpnc handed its script
 * (the environment a vpnc-script gets) and our `status`.
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { B, interopSkipReason, Ours, RUN, script, labUp, until } from './peers.js';
import { ALICE_PASSWORD, usersFile } from './ra-configs.js';
import { GROUP, PSK, VPNC_DIR as DIR, prepareVpnc, scriptEnv, startVpnc, stopVpnc, type Vpnc } from './vpnc-client.js';

const skip = interopSkipReason();
if (skip) console.log(`# vpnc interop skipped: ${skip}`);

const PKI = join(RUN, 'pki');

/** One gateway connection per vpnc profile: the group name (ID_KEY_ID) picks it. */
function gatewayConfig(sock: string, users: string): string {
  const conn = (name: string, group: string, ike: string, esp: string, pool: string, extra: readonly string[], auth = 'psk', secret = 'group') => `  ${name}:
    auth: ${auth}
    secret: ${secret}
    mode: aggressive
    allow_aggressive_psk_responder: true
    local:  { address: ${B.ip} }
    remote: { address: "%any", id: "keyid:${group}" }
    local_ts: 10.1.0.0/16
    ike: ${ike}
    esp: ${esp}
    xauth: ${usersFile(users)}
    modecfg: pull
    pool: ${pool}
    dns: [10.1.0.53]
    split_include: [10.1.0.0/16, 172.16.5.0/24]
    default_domain: corp.example
    banner: "Authorized users only"
    nbns: 10.1.0.54
    split_dns: [corp.example, lab.example]
    local_lan: 192.168.0.0/16
${extra.map((k) => `    ${k}\n`).join('')}`;
  return `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  group: { psk: "${PSK}" }
  cert: { cert: ${PKI}/peer-b.crt, key: ${PKI}/peer-b.key, ca: ${PKI}/ca.crt }
connections:
${conn('vpnc-dh2', GROUP, 'aes256-sha1-modp1024, aes128-sha1-modp1024', 'aes256-sha1, aes128-sha1', '10.10.7.0/24', ['allow_weak_groups: true', 'dpd_delay: 3s'])}${conn(
    'vpnc-dh14',
    `${GROUP}14`,
    'aes256-sha1-modp2048',
    'aes256-sha1-modp2048',
    '10.10.8.0/24',
    [],
  )}${conn('vpnc-hybrid', `${GROUP}-hybrid`, 'aes256-sha1-modp2048', 'aes256-sha1', '10.10.9.0/24', [], 'hybrid', 'cert')}${conn(
    'vpnc-short',
    `${GROUP}-short`,
    'aes256-sha1-modp2048',
    'aes256-sha1',
    '10.10.10.0/24',
    ['lifetime: 30s', 'rekey_margin: 10s', 'dpd_delay: 0'],
  )}${conn('vpnc-short-off', `${GROUP}-short-off`, 'aes256-sha1-modp2048', 'aes256-sha1', '10.10.11.0/24', ['lifetime: 30s', 'rekey_margin: 10s', 'dpd_delay: 0', 'gateway_rekey: false'])}`;
}


describe('vpnc (Cisco-style client) against our gateway', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  let vpnc: Vpnc | undefined;
  before(async () => {
    const users = await prepareVpnc(labUp);
    ours = await Ours.start('vpnc-gw', B.ns, (sock) => gatewayConfig(sock, users));
  });
  after(async () => {
    if (vpnc) await stopVpnc(vpnc);
    await ours?.stop();
    script('netns.sh', ['down']);
  });

  afterEach(async () => {
    if (vpnc) await stopVpnc(vpnc);
    vpnc = undefined;
  });

  /**
   * vpnc exits: its two Deletes (IPsec SA, then ISAKMP SA, each under a message ID of one random
   * byte, sometimes the same one or 0) remove both SAs on our side, and the lease comes back.
   */
  async function disconnectClears(connection: string, addr: string): Promise<void> {
    // vpnc runs its connect script before it enters its main loop, where SIGTERM makes it send
    // the Deletes; a SIGTERM before that ends it without them
    const running = await until(() => vpnc!.out.includes('VPNC started in foreground'), 10_000);
    assert.ok(running, `vpnc did not start its tunnel:\n${vpnc!.out.slice(-2000)}`);
    await stopVpnc(vpnc!);
    const gone = await until(async () => {
      const s = await ours!.status();
      return !s.isakmp.some((x: any) => x.connection === connection) && !s.ipsec.some((x: any) => x.connection === connection);
    }, 10_000);
    const quiet = (l: string): boolean => !l.includes('"cmd":"status"');
    assert.ok(gone, `our SAs outlived vpnc's Deletes:\n${vpnc!.out.slice(-2000)}\n--- ours:\n${ours!.log().split('\n').filter(quiet).join('\n').slice(-3000)}`);
    assert.match(ours!.log(), new RegExp(`Mode Config: virtual address ${addr.replace(/\./g, '\\.')} released`));
  }

  /** Waits for vpnc's connect script, then for our IPsec SA with the leased address. */
  async function connected(pool: RegExp): Promise<{ env: Map<string, string>; status: any }> {
    const env = await until(() => scriptEnv('connect'), 20_000);
    const gw = ours!.log();
    assert.ok(env, `vpnc did not connect:\n${vpnc!.out.slice(-4000)}\n--- ours:\n${gw.slice(-4000)}`);
    const status = await until(async () => {
      const s = await ours!.status();
      return s.ipsec.length > 0 ? s : undefined;
    }, 10_000);
    assert.ok(status, `no IPsec SA on our side:\n${vpnc!.out.slice(-3000)}\n--- ours:\n${ours!.log().slice(-3000)}`);
    assert.match(env.get('INTERNAL_IP4_ADDRESS') ?? '', pool);
    return { env, status };
  }

  test('IKE DH group 2 (vpnc default, allow_weak_groups), no PFS: XAUTH, Mode Config with Unity attributes, Quick Mode, DPD, Delete on exit', async () => {
    // vpnc announces DPD unless its own idle timeout is 0; 60 s keeps its own probes out of the test
    vpnc = startVpnc(GROUP, ['IKE DH Group dh2', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 60']);
    const { env, status } = await connected(/^10\.10\.7\.\d+$/);
    const addr = env.get('INTERNAL_IP4_ADDRESS')!;
    // what vpnc took from our Mode Config REPLY
    assert.equal(env.get('INTERNAL_IP4_DNS'), '10.1.0.53');
    assert.equal(env.get('CISCO_DEF_DOMAIN'), 'corp.example');
    assert.equal(env.get('CISCO_BANNER'), 'Authorized users only');
    assert.equal(env.get('CISCO_SPLIT_INC'), '2');
    const splits = [0, 1].map((i) => `${env.get(`CISCO_SPLIT_INC_${i}_ADDR`)}/${env.get(`CISCO_SPLIT_INC_${i}_MASKLEN`)}`).sort();
    assert.deepEqual(splits, ['10.1.0.0/16', '172.16.5.0/24']);
    assert.equal(env.get('INTERNAL_IP4_NBNS'), '10.1.0.54');
    assert.equal(env.get('CISCO_SPLIT_DNS'), 'corp.example,lab.example');
    // local_lan (UNITY_LOCAL_LAN): vpnc does not ask for it and has no use for it
    // our side: one ISAKMP SA of vpnc-dh2 with the group identity, XAUTH user and the lease
    assert.equal(status.isakmp.length, 1);
    const sa = status.isakmp[0];
    assert.equal(sa.connection, 'vpnc-dh2');
    assert.equal(sa.peerId, `keyid:${GROUP}`);
    assert.match(sa.algorithms, /xauth-psk/);
    assert.equal(sa.remoteAccess.user, 'alice');
    assert.equal(sa.remoteAccess.virtualAddress, addr);
    const child = status.ipsec[0];
    assert.equal(child.connection, 'vpnc-dh2');
    // vpnc asks for 0.0.0.0/0 behind us; it gets the connection's local_ts, and takes it
    assert.match(ours!.log(), new RegExp(`"IPsec SA established","connection":"vpnc-dh2".*"ts":"10\\.1\\.0\\.0/16 === ${addr.replace(/\./g, '\\.')}"`));
    assert.ok(JSON.stringify(child).includes(addr), `our IPsec SA names the leased address ${addr}: ${JSON.stringify(child)}`);
    const gw = ours!.log();
    assert.match(gw, /XAUTH: user accepted by file:/);
    assert.ok(!gw.includes(ALICE_PASSWORD) && !gw.includes(PSK), 'a secret leaked into our log');
    // DPD from our side (dpd_delay 3 s): vpnc answers our R-U-THEREs; the SA stays
    const dpdAcked = await until(() => /R-U-THERE-ACK/i.test(ours!.log()), 12_000);
    assert.ok(dpdAcked, `no R-U-THERE-ACK from vpnc:\n${ours!.log().slice(-3000)}`);
    assert.equal((await ours!.status()).isakmp.length, 1, 'the ISAKMP SA survives DPD');
    await disconnectClears('vpnc-dh2', addr);
  });

  test('IKE DH group 14 with PFS group 14 (no weak group needed), NAT-T forced: the second group name picks its connection', async () => {
    vpnc = startVpnc(`${GROUP}14`, ['IKE DH Group dh14', 'Perfect Forward Secrecy dh14', 'NAT Traversal Mode force-natt', 'DPD idle timeout (our side) 60']);
    const { env, status } = await connected(/^10\.10\.8\.\d+$/);
    const sa = status.isakmp.find((s: any) => s.connection === 'vpnc-dh14');
    assert.ok(sa, JSON.stringify(status.isakmp));
    assert.equal(sa.peerId, `keyid:${GROUP}14`);
    const child = status.ipsec.find((c: any) => c.connection === 'vpnc-dh14');
    assert.ok(child, JSON.stringify(status.ipsec));
    assert.match(JSON.stringify(child), /modp2048|group ?14/i, 'PFS with group 14');
    assert.match(JSON.stringify(child), /udp|encap|4500/i, 'UDP-encapsulated ESP after forced NAT-T');
    await disconnectClears('vpnc-dh14', env.get('INTERNAL_IP4_ADDRESS')!);
  });

  test('Hybrid (IKE Authmode hybrid): vpnc checks our certificate against the CA, XAUTH alone authenticates it', async () => {
    vpnc = startVpnc(`${GROUP}-hybrid`, ['IKE DH Group dh14', 'Perfect Forward Secrecy nopfs', 'IKE Authmode hybrid', `CA-File ${PKI}/ca.crt`, 'NAT Traversal Mode none', 'DPD idle timeout (our side) 60']);
    const { env, status } = await connected(/^10\.10\.9\.\d+$/);
    const sa = status.isakmp.find((x: any) => x.connection === 'vpnc-hybrid');
    assert.ok(sa, JSON.stringify(status.isakmp));
    assert.match(sa.algorithms, /hybrid-rsa/);
    assert.equal(sa.remoteAccess.user, 'alice');
    await disconnectClears('vpnc-hybrid', env.get('INTERNAL_IP4_ADDRESS')!);
  });

  test('a wrong XAUTH password: refused on our side with the user named, no IPsec SA, no lease', async () => {
    const before = ours!.log().length;
    vpnc = startVpnc(GROUP, ['IKE DH Group dh2', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 60'], { password: 'not-alices-password' });
    const failed = await until(() => /XAUTH: user refused: wrong password for user 'alice'/.test(ours!.log().slice(before)), 15_000);
    const gw = ours!.log().slice(before);
    assert.ok(failed, `no XAUTH failure line on our side:\n${gw.slice(-3000)}\n--- vpnc:\n${vpnc.out.slice(-2000)}`);
    await until(() => vpnc!.proc.exitCode !== null, 10_000);
    assert.equal(scriptEnv('connect'), undefined, 'vpnc did not connect');
    assert.doesNotMatch(gw, /Mode Config: virtual address|IPsec SA established/);
    assert.ok(!gw.includes('not-alices-password'), 'the password leaked into our log');
  });

  test('a wrong group PSK: vpnc stops at our message 2 without a word; our half-open phase 1 fails naming the pre-shared key', async () => {
    const before = ours!.log().length;
    vpnc = startVpnc(GROUP, ['IKE DH Group dh2', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 60'], { psk: 'not-the-group-secret' });
    // vpnc checks our HASH_R and exits ("check group password!"); we learn it when the half-open
    // phase 1 times out (30 s)
    await until(() => vpnc!.proc.exitCode !== null, 10_000);
    assert.match(vpnc.out, /hash comparison failed/);
    const named = await until(() => /phase 1 failed.*no Aggressive Mode message 3.*same pre-shared key \(group password\)/.test(ours!.log().slice(before)), 40_000, 500);
    const gw = ours!.log().slice(before);
    assert.ok(named, `no PSK line on our side:\n${gw.slice(-3000)}\n--- vpnc:\n${vpnc.out.slice(-2000)}`);
    assert.doesNotMatch(gw, /ISAKMP SA established/);
    assert.ok(!gw.includes('not-the-group-secret'), 'the PSK leaked into our log');
  });

  test('our IPsec SA lifetime short: the gateway rekeys before it ends, vpnc answers our Quick Mode and keeps its tunnel, never renegotiates itself, and exits with its Deletes', async () => {
    vpnc = startVpnc(`${GROUP}-short`, ['IKE DH Group dh14', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 0']);
    const { env, status } = await connected(/^10\.10\.10\.\d+$/);
    const addr = env.get('INTERNAL_IP4_ADDRESS')!;
    const first = status.ipsec.find((c: any) => c.connection === 'vpnc-short');
    const isakmp = status.isakmp.find((c: any) => c.connection === 'vpnc-short');
    assert.equal(first.role, 'responder');
    // 30 s lifetime, rekey_margin 10 s: the gateway rekeys 5..10 s before the end
    const renewed = await until(async () => {
      const s = await ours!.status();
      return s.ipsec.find((c: any) => c.connection === 'vpnc-short' && c.id !== first.id);
    }, 30_000, 500);
    const log = (): string => ours!.log();
    assert.ok(renewed, `no new IPsec SA before the first one's 30 s:\n${vpnc.out.slice(-2000)}\n--- ours:\n${log().slice(-3000)}`);
    assert.equal(renewed.role, 'initiator', 'the gateway started the Quick Mode');
    assert.equal(renewed.isakmpSa, isakmp.id, 'under the same ISAKMP SA');
    assert.ok(JSON.stringify(renewed).includes(addr), `the new SA keeps the leased address ${addr}: ${JSON.stringify(renewed)}`);
    const rekeyed = await until(() => log().includes(`"msg":"IPsec SA rekeyed","old":"${first.id}"`), 5000);
    assert.ok(rekeyed, `no rekey logged:\n${log().slice(-3000)}`);
    const oldGone = await until(async () => !(await ours!.status()).ipsec.some((c: any) => c.id === first.id), 5000);
    assert.ok(oldGone, 'the old IPsec SA was deleted');
    assert.doesNotMatch(log(), /"msg":"IPsec SA expired","id":"[^"]+","connection":"vpnc-short"/);
    // vpnc never started a Quick Mode of its own: every IPsec SA of ours there after the first is ours
    const established = log().split('\n').filter((l) => l.includes('"msg":"IPsec SA established","connection":"vpnc-short"'));
    assert.ok(established.length >= 2);
    assert.ok(established.slice(1).every((l) => l.includes('"role":"initiator"')), established.join('\n'));
    assert.equal(vpnc.proc.exitCode, null, 'vpnc is still connected');
    await disconnectClears('vpnc-short', addr);
  });

  test('gateway_rekey: false and our IPsec SA lifetime shorter than vpnc\'s: vpnc renegotiates when it ends, under the same ISAKMP SA', async () => {
    // vpnc takes our RESPONDER-LIFETIME and starts a new Quick Mode when the IPsec SA ends (it never
    // rekeys earlier), while we delete the expired one. No DPD here: vpnc gives up a Quick Mode of
    // its own when an R-U-THERE arrives before the answer.
    vpnc = startVpnc(`${GROUP}-short-off`, ['IKE DH Group dh14', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 0']);
    const { status } = await connected(/^10\.10\.11\.\d+$/);
    const first = status.ipsec.find((c: any) => c.connection === 'vpnc-short-off');
    const isakmp = status.isakmp.find((c: any) => c.connection === 'vpnc-short-off');
    const renewed = await until(async () => {
      const s = await ours!.status();
      return s.ipsec.find((c: any) => c.connection === 'vpnc-short-off' && c.id !== first.id);
    }, 45_000, 500);
    assert.ok(renewed, `no new IPsec SA after the first one's 30 s:\n${vpnc.out.slice(-2000)}\n--- ours:\n${ours!.log().slice(-3000)}`);
    assert.equal(renewed.isakmpSa, isakmp.id, 'under the same ISAKMP SA');
    assert.match(ours!.log(), /"msg":"IPsec SA expired","id":"[^"]+","connection":"vpnc-short-off"/);
    assert.equal(vpnc.proc.exitCode, null, 'vpnc is still connected');
  });
});

/**
 * A gateway connection with two local_ts and the xfrm dataplane (the fake-xfrm shim: this kernel
 * has no ESP, the policies are real): vpnc asks for 0.0.0.0/0 as always, gets its IDs back, routes
 * both split networks into its tunnel, and our one IPsec SA holds a kernel policy pair for each of
 * them (out, in, fwd), none for everything; the gateway's rekey moves all of them to the new SA;
 * vpnc's exit takes them all away.
 */
describe('vpnc against a gateway with several local_ts (xfrm dataplane)', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  let vpnc: Vpnc | undefined;
  const group = `${GROUP}-split`;
  /** Our SA policies in isk-b (priority 2000: the IKE bypass has 100), one line each. */
  const saPolicies = (): string[] => {
    const out = spawnSync('ip', ['-n', B.ns, 'xfrm', 'policy', 'list']).stdout.toString();
    const blocks = out.split(/\n(?=\S)/).map((b) => b.replace(/\s+/g, ' ').trim());
    return blocks.filter((b) => / priority 2000 /.test(b)).map((b) => {
      const m = /^src (\S+) dst (\S+) dir (\w+) .* reqid (\d+) /.exec(b);
      return m ? `${m[1]} > ${m[2]} ${m[3]} reqid ${m[4]}` : b;
    });
  };
  before(async () => {
    const users = await prepareVpnc(labUp);
    const config = (sock: string): string => `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  dataplane: xfrm
  log: { level: debug }
secrets:
  group: { psk: "${PSK}" }
connections:
  vpnc-split:
    secret: group
    mode: aggressive
    allow_aggressive_psk_responder: true
    local:  { address: ${B.ip} }
    remote: { address: "%any", id: "keyid:${group}" }
    local_ts: [10.1.0.0/16, 10.2.0.0/16]
    ike: aes256-sha1-modp2048
    esp: aes256-sha1
    xauth: ${usersFile(users)}
    modecfg: pull
    pool: 10.10.12.0/24
    split_include: [10.1.0.0/16, 10.2.0.0/16]
    dpd_delay: 0
    lifetime: 30s
    rekey_margin: 10s
`;
    ours = await Ours.start('vpnc-split-gw', B.ns, config, { LD_PRELOAD: join(RUN, 'lib/fake-xfrm.so'), FAKE_XFRM_LOG: join(DIR, 'fake-xfrm.log') });
  });
  after(async () => {
    if (vpnc) await stopVpnc(vpnc);
    await ours?.stop();
    script('netns.sh', ['down']);
  });

  test('IDcr 0.0.0.0/0 answered as proposed; one IPsec SA with a kernel policy pair per local_ts, none for everything; the gateway\'s rekey keeps them; vpnc\'s exit removes them all', async () => {
    vpnc = startVpnc(group, ['IKE DH Group dh14', 'Perfect Forward Secrecy nopfs', 'NAT Traversal Mode none', 'DPD idle timeout (our side) 0']);
    const env = await until(() => scriptEnv('connect'), 20_000);
    assert.ok(env, `vpnc did not connect:\n${vpnc.out.slice(-4000)}\n--- ours:\n${ours!.log().slice(-4000)}`);
    const addr = env.get('INTERNAL_IP4_ADDRESS')!;
    assert.match(addr, /^10\.10\.12\.\d+$/);
    // vpnc routes both networks into its tunnel (vpnc-script's CISCO_SPLIT_INC_*), over its one SA
    assert.equal(env.get('CISCO_SPLIT_INC'), '2');
    assert.deepEqual([0, 1].map((i) => `${env.get(`CISCO_SPLIT_INC_${i}_ADDR`)}/${env.get(`CISCO_SPLIT_INC_${i}_MASKLEN`)}`).sort(), ['10.1.0.0/16', '10.2.0.0/16']);
    const status = await until(async () => {
      const s = await ours!.status();
      return s.ipsec.length > 0 && s.ipsec[0].dataplane === 'installed' ? s : undefined;
    }, 10_000);
    assert.ok(status, `no installed IPsec SA on our side:\n${ours!.log().slice(-3000)}`);
    assert.equal(status.ipsec.length, 1, 'one IPsec SA for vpnc\'s one Quick Mode');
    const child = status.ipsec[0];
    assert.equal(child.localTs, '10.1.0.0/16, 10.2.0.0/16');
    assert.equal(child.remoteTs, addr);
    assert.match(ours!.log(), new RegExp(`"IPsec SA established","connection":"vpnc-split".*"ts":"10\\.1\\.0\\.0/16, 10\\.2\\.0\\.0/16 === ${addr.replace(/\./g, '\\.')}"`));
    // the kernel: both networks, each direction, one reqid; nothing for 0.0.0.0/0
    const policies = saPolicies();
    const reqid = /reqid (\d+)$/.exec(policies[0] ?? '')?.[1];
    assert.ok(reqid, policies.join('\n'));
    assert.deepEqual(policies.sort(), [
      `10.1.0.0/16 > ${addr}/32 out reqid ${reqid}`,
      `10.2.0.0/16 > ${addr}/32 out reqid ${reqid}`,
      `${addr}/32 > 10.1.0.0/16 fwd reqid ${reqid}`,
      `${addr}/32 > 10.1.0.0/16 in reqid ${reqid}`,
      `${addr}/32 > 10.2.0.0/16 fwd reqid ${reqid}`,
      `${addr}/32 > 10.2.0.0/16 in reqid ${reqid}`,
    ].sort());
    // the gateway rekeys (30 s lifetime, 5..10 s before its end): the new SA's policies take all six
    // over, and the old SA's Delete leaves them (policy-owners.ts)
    const renewed = await until(async () => {
      const s = await ours!.status();
      return s.ipsec.length === 1 && s.ipsec[0].id !== child.id && s.ipsec[0].dataplane === 'installed' ? s.ipsec[0] : undefined;
    }, 30_000, 500);
    assert.ok(renewed, `no rekey replaced the first SA:\n${ours!.log().slice(-3000)}`);
    assert.equal(renewed.role, 'initiator', 'the gateway started the rekey');
    assert.equal(renewed.localTs, '10.1.0.0/16, 10.2.0.0/16');
    const after = saPolicies();
    const reqid2 = /reqid (\d+)$/.exec(after[0] ?? '')?.[1];
    assert.ok(reqid2 !== undefined && reqid2 !== reqid, after.join('\n'));
    assert.deepEqual(after.sort(), policies.map((p) => p.replace(/reqid \d+$/, `reqid ${reqid2}`)).sort());
    assert.equal(vpnc.proc.exitCode, null, 'vpnc is still connected');
    // vpnc exits with its Deletes: the SA goes, and every one of its policies with it
    assert.ok(await until(() => vpnc!.out.includes('VPNC started in foreground'), 10_000), vpnc.out.slice(-2000));
    await stopVpnc(vpnc);
    const gone = await until(async () => (await ours!.status()).ipsec.length === 0 && saPolicies().length === 0, 10_000);
    assert.ok(gone, `left behind: ${saPolicies().join('\n')}\n--- ours:\n${ours!.log().slice(-3000)}`);
  });
});
