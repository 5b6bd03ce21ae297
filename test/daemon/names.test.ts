/**
 * One algorithm-name table: every name of the proposal syntax (src/exchange/names.ts) and every
 * negotiable DH group of the registry (src/crypto/dh.ts) renders back, in `status` and the logs,
 * as the name it was written with; and a real PFS modp4096 IPsec SA shows `modp4096`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DH_GROUPS } from '../../src/crypto/dh.js';
import {
  groupName,
  ikeTransformName,
  ipsecTransformName,
  parseAhProposalSpec,
  parseEspProposalSpec,
  parseIkeProposalSpec,
  parseIpsecProposal,
} from '../../src/exchange/names.js';
import { groupAllowed } from '../../src/exchange/proposals.js';
import { parseConfig } from '../../src/daemon/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/log.js';
import { realEndpointFactory } from '../../src/daemon/real-endpoint.js';
import { EventLog, freeUdpPorts } from './helpers.js';

const NEGOTIABLE = DH_GROUPS.filter((g) => g.negotiable);
const CIPHERS = ['aes128', 'aes192', 'aes256', '3des'];
const AEAD = ['aes128gcm16', 'aes192gcm16', 'aes256gcm16', 'aes128gcm12', 'aes192gcm12', 'aes256gcm12', 'aes128gcm8', 'aes192gcm8', 'aes256gcm8'];
const HASHES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];

test('the registry decides which groups the engine, the config and status know', () => {
  assert.deepEqual(NEGOTIABLE.map((g) => g.id), [1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  for (const g of DH_GROUPS) {
    assert.equal(groupName(g.id), g.shortName);
    // the engine's policy and the registry's agree, with and without the opt-in
    assert.equal(groupAllowed(g.id, true), g.negotiable, `group ${g.id} with opt-in`);
    assert.equal(groupAllowed(g.id, false), g.negotiable && !g.weak, `group ${g.id} without opt-in`);
    // the config parser accepts exactly the negotiable groups, the weak ones only with the opt-in
    const strict = parseIkeProposalSpec(`aes128-sha256-${g.shortName}`);
    const optIn = parseIkeProposalSpec(`aes128-sha256-${g.shortName}`, { allowWeakGroups: true });
    assert.equal(optIn.ok, g.negotiable, g.shortName);
    assert.equal(strict.ok, g.negotiable && !g.weak, g.shortName);
    if (!strict.ok && g.negotiable) assert.match(strict.error, /is weak and refused by default/);
  }
  assert.equal(groupName(0), 'group0');
  assert.equal(groupName(99), 'group99');
});

test('every phase-1 cipher, hash and group renders back to the name it was written with', () => {
  let n = 0;
  for (const enc of CIPHERS) {
    for (const hash of HASHES) {
      for (const g of NEGOTIABLE) {
        const text = `${enc}-${hash}-${g.shortName}`;
        const p = parseIkeProposalSpec(text, { allowWeakGroups: true });
        assert.ok(p.ok, text);
        assert.equal(ikeTransformName({ ...p.value, keyLength: p.value.keyLength ?? 0, auth: 1 }), `${text} psk`);
        assert.equal(ikeTransformName({ ...p.value, keyLength: p.value.keyLength ?? 0, auth: 3 }), `${text} rsa`);
        n++;
      }
    }
  }
  assert.equal(n, CIPHERS.length * HASHES.length * NEGOTIABLE.length);
  // synonyms are accepted and printed under their one name; unknown numbers stay readable
  const syn = parseIkeProposalSpec('AES-SHA-modp2048');
  assert.ok(syn.ok);
  assert.equal(ikeTransformName({ ...syn.value, keyLength: 128, auth: 1 }), 'aes128-sha1-modp2048 psk');
  assert.equal(ikeTransformName({ encryption: 99, keyLength: 0, hash: 77, group: 66, auth: 55 }), 'enc99-hash77-group66 auth55');
});

test('every ESP cipher, integrity, AEAD and AH name renders back, with its PFS group', () => {
  for (const pfs of [undefined, ...NEGOTIABLE]) {
    const suffix = pfs !== undefined ? `-${pfs.shortName}` : '';
    const texts = [...CIPHERS.flatMap((e) => HASHES.map((h) => `${e}-${h}`)), ...AEAD];
    for (const base of texts) {
      const text = base + suffix;
      assert.ok(parseEspProposalSpec(text, { allowWeakGroups: true }).ok, text);
      const rec = parseIpsecProposal('esp', text);
      assert.equal(ipsecTransformName(rec.protocols[0]!, rec.group ?? 0), `esp ${text}`);
    }
    for (const h of HASHES) {
      const text = h + suffix;
      assert.ok(parseAhProposalSpec(text, { allowWeakGroups: true }).ok, text);
      const rec = parseIpsecProposal('ah', text);
      assert.equal(ipsecTransformName(rec.protocols[0]!, rec.group ?? 0), `ah ${text}`);
    }
  }
  assert.equal(ipsecTransformName({ protocol: 3, transformId: 99, keyLength: 0, authAlgorithm: 88 }, 77), 'esp esp99-auth88-group77');
});

test('status of a real PFS modp4096 IPsec SA says modp4096 (both daemons, both SA kinds)', async () => {
  const [lp, rp] = await freeUdpPorts(2);
  const conf = (port: number, peer: number, me: string, other: string): string => `global:
  listen: ["127.0.0.1"]
  port: ${port}
  natt_port: 0
secrets:
  k: { psk: "names test secret", allow_weak_psk: true }
connections:
  to-${other}:
    secret: k
    local:  { address: 127.0.0.1, id: "@${me}.test" }
    remote: { address: 127.0.0.1, port: ${peer}, id: "@${other}.test" }
    ike: aes256-sha384-modp4096
    esp: aes192-sha512
    pfs: modp4096
`;
  const logger = new Logger({ level: 'error', areas: {}, format: 'text', write: () => {} });
  const lev = new EventLog();
  const rev = new EventLog();
  const right = new Daemon({ config: parseConfig(conf(rp!, lp!, 'right', 'left'), 'r.yaml'), endpointFactory: realEndpointFactory, logger, control: false, onEvent: rev.push });
  const left = new Daemon({ config: parseConfig(conf(lp!, rp!, 'left', 'right'), 'l.yaml'), endpointFactory: realEndpointFactory, logger, control: false, onEvent: lev.push });
  await right.start();
  await left.start();
  try {
    left.initiate('to-right');
    await lev.wait((e) => e.type === 'ipsec-sa-established', 'IPsec SA (initiator)');
    await rev.wait((e) => e.type === 'ipsec-sa-established', 'IPsec SA (responder)');
    for (const d of [left, right]) {
      const st = d.status();
      assert.deepEqual(st.isakmp.map((s) => s.algorithms), ['aes256-sha384-modp4096 psk']);
      assert.deepEqual(st.ipsec.map((s) => s.algorithms), ['esp aes192-sha512-modp4096']);
    }
  } finally {
    await left.stop();
    await right.stop();
  }
});
