/**
 * strongSwan charon cases beside strongswan.test.ts: IPComp (`ipcomp = yes`, what `compress=yes`
 * sets in ipsec.conf). charon offers ESP bundled with IPCOMP under one proposal number, then the
 * same ESP alone under the next; we negotiate no IPComp and take the second (a peer that offers
 * only the bundle, Libreswan's pluto with compress=yes, is refused with IPComp named: see
 * libreswan-more.test.ts). As the initiator we offer ESP alone, which charon takes.
 *
 * A lost Aggressive Mode message 3: a traffic-control rule on charon's side (htb + u32 into a
 * class whose queue holds nothing; this lab kernel has no netfilter and no tc actions) drops
 * every encrypted Aggressive Mode datagram to UDP 500, which is only AM3. charon holds phase 1 as
 * up, sends its Quick Mode at once and retransmits it; it never repeats AM3 (by hand: our AM2
 * repeated after that gets "received retransmit of response with ID 0, but next request already
 * sent", so answering with AM2 would recover nothing). We read no Quick Mode without AM3 and
 * name the loss once at the default level (docs/engine.md "A lost Aggressive Mode message 3").
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { A, B, charon, interopSkipReason, labDown, labUp, Ours, ourPskConfig, until } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# charon (more) interop skipped: ${skip}`);

const PSK = 'charon-ipcomp-psk-secret-71c2';

/** Our side on peer-b: connection `charon` against interop/conf/charon/ipcomp.conf. */
const ourConfig = (sock: string): string => ourPskConfig(sock, { psk: PSK, ike: 'aes128-sha256-modp2048', esp: 'aes128-sha256', localTs: `${B.inner}/32`, remoteTs: `${A.inner}/32` });

/**
 * For a describe block: the lab up with charon `a` on peer-a (conf/charon/`conf`) and our daemon
 * on peer-b, all down after the block (`cleanup` first). Gives our daemon, once started.
 */
function charonAndOurs(conf: string, name: string, config: (sock: string) => string, cleanup?: () => void): () => Ours {
  let ours: Ours | undefined;
  before(async () => {
    labUp();
    charon.start('a', A.ns);
    charon.load('a', conf);
    ours = await Ours.start(name, B.ns, config);
  });
  after(async () => {
    await ours?.stop();
    cleanup?.();
    labDown();
  });
  return () => ours ?? assert.fail('our daemon did not start');
}

describe('charon with IPComp (ipcomp = yes)', { skip: skip || false, concurrency: false }, () => {
  const daemon = charonAndOurs('ipcomp.conf', 'charon-ipcomp', ourConfig);

  test('charon proposes ESP + IPComp and then ESP alone (a proposal of its own): we take ESP alone; charon disables IPComp', async () => {
    const o = daemon();
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
    const o = daemon();
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

/** Our side on peer-b against conf/charon/initiator.conf's am-psk, at the default log level. */
const amConfig = (sock: string): string => `global:
  listen: [${B.ip}]
  control_socket: ${sock}
secrets:
  am:
    psk: "peers-am-psk-secret"
    allow_weak_psk: true
connections:
  am:
    mode: aggressive
    auth: psk
    secret: am
    local:  { address: ${B.ip}, id: "@peer-b.peers.test" }
    remote: { address: ${A.ip}, id: "@peer-a.peers.test" }
    ike: aes256-sha1-ecp256
    esp: aes128-sha1
    start: add
    allow_aggressive_psk_responder: true
`;

/** tc in charon's namespace on its veth0. */
function tcA(...args: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', A.ns, 'tc', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tc ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Drops every encrypted Aggressive Mode datagram charon sends to UDP 500 (exchange type at ISAKMP offset 18, flags at 19). */
function dropEncryptedAggressive(): void {
  tcA('qdisc', 'add', 'dev', 'veth0', 'root', 'handle', '1:', 'htb', 'default', '1');
  tcA('class', 'add', 'dev', 'veth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '1gbit');
  tcA('class', 'add', 'dev', 'veth0', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '1gbit');
  tcA('qdisc', 'add', 'dev', 'veth0', 'parent', '1:2', 'handle', '20:', 'pfifo', 'limit', '0');
  // IPv4 without options (20 bytes) + UDP (8): the ISAKMP header at 28
  tcA('filter', 'add', 'dev', 'veth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', '500', '0xffff', 'match', 'u8', '4', '0xff', 'at', '46', 'match', 'u8', '1', '0x01', 'at', '47', 'flowid', '1:2');
}

/** Datagrams the rule dropped so far. */
function droppedByRule(): number {
  const m = /qdisc pfifo 20:[^\n]*\n[^\n]*dropped (\d+)/.exec(tcA('-s', 'qdisc', 'show', 'dev', 'veth0'));
  return m ? Number(m[1]) : -1;
}

describe('charon as Aggressive Mode initiator, its message 3 lost', { skip: skip || false, concurrency: false }, () => {
  const daemon = charonAndOurs('initiator.conf', 'charon-am3-lost', amConfig, () => spawnSync('ip', ['netns', 'exec', A.ns, 'tc', 'qdisc', 'del', 'dev', 'veth0', 'root']));

  test('charon goes on with its Quick Mode and never repeats AM3; we read no Quick Mode without AM3, answer nothing, and name the lost message at the default level', async () => {
    const o = daemon();
    dropEncryptedAggressive();
    const r = charon.up('a', 'am-psk', 'host', 5);
    assert.notEqual(r.code, 0, 'no CHILD_SA without our phase 1');
    assert.equal(droppedByRule(), 1, 'exactly one AM3 sent by charon, and lost');
    const log = charon.log('a');
    assert.match(log, /IKE_SA am-psk\[\d+\] established/, 'charon holds phase 1 as up');
    assert.match(log, /sending retransmit 1 of \w+ message ID [1-9]\d*/, 'charon retransmits its Quick Mode');
    assert.doesNotMatch(log, /sending retransmit \d+ of \w+ message ID 0\b/, 'charon never repeats AM3');
    const sa = charon.sas('a').find((s) => s.conn === 'am-psk');
    assert.ok(sa && sa.state === 'ESTABLISHED' && !sa.children.some((c) => c.state === 'INSTALLED'), JSON.stringify(charon.sas('a')));
    // our side: named once at the default level, with the connection and the cause
    const lines = (): string[] => o.log().split('\n').filter((l) => /Aggressive Mode message 3 never arrived, but it sent a Quick Mode under this half-open phase 1 \(connection am\)/.test(l));
    const named = await until(() => (lines().length > 0 ? lines() : undefined), 2000);
    assert.equal(named?.length, 1, o.log().slice(-3000));
    const line = JSON.parse(named![0]!);
    assert.deepEqual([line.level, line.cause, line.peer], ['warn', 'NO_ANSWER', `${A.ip}:500`]);
    const st = await o.status();
    assert.equal(st.ipsec.length, 0);
    assert.ok(!st.isakmp.some((s: any) => s.initiatorCookie === sa.ispi && s.state === 'established'), JSON.stringify(st.isakmp));
    charon.down('a', 'am-psk');
  });
});
