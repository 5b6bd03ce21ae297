/**
 * ike-scan (Debian package ike-scan, installed by interop/install.sh), the IKEv1 scanner and
 * Aggressive Mode PSK harvester, against our daemon with its default policy: what an attacker or
 * an auditor learns with it.
 *   - Its default Main Mode offer (DES/3DES, MD5/SHA-1, 768/1024-bit groups) is refused: no
 *     proposal chosen, and our log names the weak groups (Logjam).
 *   - With a strong offer we answer Main Mode 2, once: no retransmission of it before the peer
 *     proves its address (message 3), so ike-scan's backoff fingerprint finds one packet, and a
 *     spoofed first message cannot make us send more than one answer (CVE-2016-5361 shape).
 *   - Aggressive Mode with a pre-shared key is refused by default, so `--pskcrack` harvests
 *     nothing to crack offline; with the opt-in, it would (the test shows the hash it gets then).
 *
 * Run by `npm run test:interop` (root), under `flock /tmp/isakmp-interop.lock`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { A, B, interopSkipReason, Ours, RUN, script, labUp } from './peers.js';

const skip = interopSkipReason();
if (skip) console.log(`# ike-scan interop skipped: ${skip}`);

const DIR = join(RUN, 'ike-scan');
const PSK = 'ike-scan-lab-group-secret-93b1';

function config(sock: string, allowAggressive: boolean): string {
  return `global:
  listen: [${B.ip}]
  control_socket: ${sock}
  log: { level: debug }
secrets:
  site: { psk: "${PSK}" }
connections:
  site:
    secret: site
    local:  { address: ${B.ip} }
    remote: { address: ${A.ip} }
    ike: aes256-sha256-modp2048
  group:
    secret: site
    mode: aggressive
${allowAggressive ? '    allow_aggressive_psk_responder: true\n' : ''}    local:  { address: ${B.ip} }
    remote: { address: "%any", id: "keyid:vpngroup" }
    ike: aes256-sha256-modp2048
`;
}

/** ike-scan from namespace isk-a at our daemon; its output. */
function ikeScan(args: readonly string[], timeoutMs = 30_000): string {
  const r = spawnSync('ip', ['netns', 'exec', A.ns, 'ike-scan', ...args, B.ip], { encoding: 'utf8', timeout: timeoutMs });
  return `${r.stdout}${r.stderr}`;
}

describe('ike-scan against our daemon (default policy)', { skip, concurrency: false }, () => {
  let ours: Ours | undefined;
  before(async () => {
    // installed by interop/install.sh: missing is a failure here, never a skip
    assert.equal(spawnSync('sh', ['-c', 'command -v ike-scan']).status, 0, 'ike-scan missing: run interop/install.sh');
    labUp();
    mkdirSync(DIR, { recursive: true });
    ours = await Ours.start('ike-scan', B.ns, (sock) => config(sock, false));
  });
  after(async () => {
    await ours?.stop();
    script('netns.sh', ['down']);
  });

  test('its default Main Mode offer (DES/3DES, MD5/SHA-1, groups 1 and 2): NO-PROPOSAL-CHOSEN, named in our log', () => {
    const before = ours!.log().length;
    const out = ikeScan(['--retry=1']);
    assert.match(out, /Notify message 14 \(NO-PROPOSAL-CHOSEN\)/, out);
    assert.match(out, /1 returned notify/, out);
    const gw = ours!.log().slice(before);
    assert.match(gw, /no proposal chosen for connection site: peer offered .*modp1024.*weak: allow_weak_groups/, gw.slice(-2000));
  });

  test('a strong offer: one Main Mode 2, no retransmission before message 3 (backoff: a single packet)', () => {
    const out = ikeScan(['--trans=7/256,4,1,14', '--showbackoff=12']);
    assert.match(out, /Main Mode Handshake returned/, out);
    const sa = /SA=\(([^)]*)\)/.exec(out)?.[1] ?? '';
    for (const f of ['Enc=AES', 'KeyLength=256', 'Hash=SHA2-256', 'Group=14:modp2048', 'Auth=PSK']) assert.ok(sa.split(' ').includes(f), `${f} in ${sa}`);
    // our DPD vendor ID (NAT-T's only to a peer that sent it, RFC 3947; ike-scan does not)
    assert.match(out, /VID=afcad71368a1f1c96b8696fc77570100 \(Dead Peer Detection v1\.0\)/, out);
    assert.doesNotMatch(out, /NAT-T/, out);
    // the backoff table lists each packet received for the host: one, at 0 s
    const table = out.slice(out.indexOf('IKE Backoff Patterns'));
    assert.match(table, /\t1\t/, out);
    assert.doesNotMatch(table, /\t2\t/, `a second Main Mode 2 was sent:\n${out}`);
  });

  test('Aggressive Mode with a PSK, --pskcrack: refused by default, nothing to crack, named in our log', () => {
    const before = ours!.log().length;
    const crack = join(DIR, 'psk-default.txt');
    rmSync(crack, { force: true });
    const out = ikeScan(['--aggressive', '--dhgroup=14', '--id=vpngroup', '--idtype=11', '--trans=7/256,4,1,14', `--pskcrack=${crack}`, '--retry=1']);
    assert.doesNotMatch(out, /Aggressive Mode Handshake returned/, out);
    assert.ok(!existsSync(crack) || readFileSync(crack, 'utf8').trim() === '', `a crackable hash was written:\n${existsSync(crack) ? readFileSync(crack, 'utf8') : ''}`);
    // at the default log level (warn), in the operator's words
    const gw = ours!.log().slice(before);
    assert.match(gw, /"level":"warn".*Aggressive Mode with a pre-shared key refused as responder for connection group: .*set allow_aggressive_psk_responder: true/, gw.slice(-2000));
  });

  test('with allow_aggressive_psk_responder (the opt-in), ike-scan harvests HASH_R: the risk the default avoids', async () => {
    const r = await ours!.reload(config(ours!.sock, true));
    assert.ok(r.ok, JSON.stringify(r));
    const crack = join(DIR, 'psk-optin.txt');
    rmSync(crack, { force: true });
    const out = ikeScan(['--aggressive', '--dhgroup=14', '--id=vpngroup', '--idtype=11', '--trans=7/256,4,1,14', `--pskcrack=${crack}`, '--retry=1']);
    assert.match(out, /Aggressive Mode Handshake returned/, out);
    // psk-crack's input: g_xr:g_xi:cky_r:cky_i:sai_b:idir_b:ni_b:nr_b:hash_r, all hex
    const line = readFileSync(crack, 'utf8').trim();
    assert.equal(line.split(':').length, 9, line);
    assert.ok(line.split(':').every((f) => /^[0-9a-f]+$/.test(f)), line);
    const crackOut = spawnSync('psk-crack', ['-b', '1', crack], { encoding: 'utf8', timeout: 30_000 });
    assert.doesNotMatch(`${crackOut.stdout}`, new RegExp(PSK), 'a 30-character random key is not found by a short brute force');
  });
});
