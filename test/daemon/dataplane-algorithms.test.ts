/**
 * Issue 10: the dataplane and the key log for AES-GCM and AH SAs negotiated by two real engines
 * in memory. The kernel records (netlink XFRM and the `ip` fallback's words) carry AES-GCM as one
 * AEAD algorithm `rfc4106(gcm(aes))` with the key and its salt and the ICV length of the
 * transform; AH as proto 51 with the HMAC and its truncation, in the SA and the policy template.
 * The key log writes Wireshark's AES-GCM names (tshark accepts them: test/interop) and no AH line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpsecProposal } from '../../src/exchange/index.js';
import type { IpsecSaInfo } from '../../src/exchange/index.js';
import { saRecords } from '../../src/daemon/dataplane/sa-records.js';
import { ipArgs } from '../../src/daemon/dataplane/ip-kernel.js';
import { espKeyLogLines } from '../../src/daemon/keylog.js';
import { toHex } from '../../src/crypto/bytes.js';
import { Pair, conn } from '../helpers/pair.js';

function negotiated(seed: string, protocol: 'esp' | 'ah', text: string): IpsecSaInfo {
  const pair = new Pair({ seed });
  const ipsec = [parseIpsecProposal(protocol, text)];
  pair.a.setConnection(conn(pair, 'a', { ipsec }));
  pair.b.setConnection(conn(pair, 'b', { ipsec }));
  pair.a.initiate(pair.now, 'c');
  pair.run(5000);
  const sa = pair.ev('a', 'ipsec-sa-established')[0]?.sa;
  assert.ok(sa, `${text} negotiated`);
  return sa;
}

for (const [text, icvBits, keyBytes, name] of [
  ['aes128gcm8', 64, 20, 'AES-GCM with 8 octet ICV [RFC4106]'],
  ['aes256gcm12', 96, 36, 'AES-GCM with 12 octet ICV [RFC4106]'],
  ['aes192gcm16', 128, 28, 'AES-GCM with 16 octet ICV [RFC4106]'],
] as const) {
  test(`ESP ${text}: kernel AEAD rfc4106(gcm(aes)) with a ${keyBytes}-byte key (salt included) and ${icvBits}-bit ICV; key log "${name}"`, () => {
    const sa = negotiated(`dp-${text}`, 'esp', text);
    const r = saRecords(sa, 7);
    assert.equal(r.states.length, 2);
    const p = sa.protocols[0]!;
    for (const [i, st] of r.states.entries()) {
      const k = i === 0 ? p.outbound : p.inbound;
      assert.equal(st.proto, 50);
      assert.deepEqual(st.aead && { name: st.aead.name, icvBits: st.aead.icvBits, key: toHex(st.aead.key) }, { name: 'rfc4106(gcm(aes))', icvBits, key: toHex(k.keymat) });
      assert.equal(st.aead?.key.length, keyBytes);
      assert.equal(st.crypt, undefined);
      assert.equal(st.auth, undefined);
    }
    const words = ipArgs({ op: 'add-sa', state: r.states[0]! });
    assert.deepEqual(words.slice(words.indexOf('aead'), words.indexOf('aead') + 4), ['aead', 'rfc4106(gcm(aes))', `0x${toHex(p.outbound.keymat)}`, String(icvBits)]);
    assert.ok(r.policies.every((x) => x.tmpl?.proto === 50));
    const lines = espKeyLogLines(sa);
    assert.equal(lines.length, 2);
    assert.equal(lines[0], `"IPv4","192.0.2.1","192.0.2.2","0x${toHex(p.outbound.spi)}","${name}","0x${toHex(p.outbound.keymat)}","NULL","0x"`);
  });
}

test('AH sha256: kernel states proto 51 with hmac(sha256) truncated to 128 bits, no cipher; policies need AH; `ip` says proto ah; no key log line', () => {
  const sa = negotiated('dp-ah', 'ah', 'sha256');
  const r = saRecords(sa, 9);
  const p = sa.protocols[0]!;
  assert.equal(r.states.length, 2);
  for (const [i, st] of r.states.entries()) {
    const k = i === 0 ? p.outbound : p.inbound;
    assert.equal(st.proto, 51);
    assert.deepEqual(st.auth && { name: st.auth.name, truncBits: st.auth.truncBits, key: toHex(st.auth.key) }, { name: 'hmac(sha256)', truncBits: 128, key: toHex(k.integrityKey) });
    assert.equal(st.crypt, undefined);
    assert.equal(st.aead, undefined);
    assert.equal(st.encap, undefined);
  }
  assert.ok(r.policies.length >= 2 && r.policies.every((x) => x.tmpl?.proto === 51), JSON.stringify(r.policies.map((x) => x.tmpl)));
  const add = ipArgs({ op: 'add-sa', state: r.states[0]! });
  assert.deepEqual(add.slice(0, 8), ['xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto']);
  assert.equal(add[8], 'ah');
  const del = ipArgs({ op: 'del-sa', id: { family: 4, src: '192.0.2.1', dst: '192.0.2.2', spi: r.states[0]!.spi, proto: 51 } });
  assert.equal(del[del.indexOf('proto') + 1], 'ah');
  const pol = ipArgs({ op: 'set-policy', policy: r.policies[0]! });
  assert.equal(pol[pol.lastIndexOf('proto') + 1], 'ah');
  assert.deepEqual(espKeyLogLines(sa), []);
});
