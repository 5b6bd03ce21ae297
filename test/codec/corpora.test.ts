// The shared GPL/BSD corpora in ../shared/vectors (kept out of this repository): ike-scan packets
// against ike-scan's own expected decode text, tcpdump captures (well-formed and every crash
// reproducer), libreswan crash packets, scapy and wireshark samples. Each input decodes to the
// expected fields, or fails with the DecodeError notify that ../shared/vectors/SHAPES.md §11 gives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeIdentification, decodeMessage, encodeMessage, ikeAttributes, verify, type DataPayload, type Message, type Payload,
} from '../../src/codec/index.js';
import { DecodeError } from '../../src/errors.js';
import { readCapture, stripNonEspMarker } from '../../src/pcap/index.js';
import { hex, throwsNotify, toHex } from './helpers.js';

const V = '../shared/vectors';
const present = existsSync(V);
const skipMsg = `${V} absent: skipping the shared-corpus suite`;

/** decodeMessage, or the DecodeError; anything else fails the test. */
function attempt(b: Uint8Array): Message | DecodeError {
  try {
    return decodeMessage(b);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
}

function roundTrips(b: Uint8Array): Message {
  const m = decodeMessage(b);
  assert.equal(toHex(encodeMessage(m)), toHex(b), 'encode(decode(b)) = b');
  return m;
}

const data = (m: Message, t: 'KE' | 'NONCE' | 'HASH' | 'SIG' | 'VID'): Uint8Array[] =>
  m.payloads.filter((p) => p.type === t).map((p) => (p as DataPayload).data);
const of = <T extends Payload['type']>(m: Message, t: T): Extract<Payload, { type: T }>[] =>
  m.payloads.filter((p): p is Extract<Payload, { type: T }> => p.type === t);

describe('ike-scan packets vs ike-scan-expected-decode.txt', { skip: present ? false : skipMsg }, () => {
  const dir = join(V, 'ike-scan');
  const load = (f: string): Uint8Array => {
    const b = new Uint8Array(readFileSync(join(dir, f)));
    return stripNonEspMarker(b) ?? b; // pkt-main-natt-response was captured on port 4500
  };
  // The expected text's samples, in order, are these responses (ike-scan check-decode).
  const files = ['pkt-main-mode-response.dat', 'pkt-aggr-mode-response.dat', 'pkt-notify-response.dat', 'pkt-v2-sainit-response.dat',
    'pkt-v2-notify-response.dat', 'pkt-aggr-cert-response.dat', 'pkt-main-natt-response.dat', 'pkt-checkpoint-notify.dat'];
  const text = present ? readFileSync(join(dir, 'ike-scan-expected-decode.txt'), 'utf8') : '';
  const samples = text.split(/^### sample \d+\n/m).slice(1);
  const ENC: Record<string, string> = { '3DES': '3DES_CBC', DES: 'DES_CBC', AES: 'AES_CBC' };
  const HASH: Record<string, string> = { SHA1: 'SHA', MD5: 'MD5' };
  const AUTH: Record<string, string> = { PSK: 'PRE_SHARED_KEY', RSA_Sig: 'RSA_SIGNATURES' };

  test('the expected text has 8 samples', () => assert.equal(samples.length, 8));
  files.forEach((f, i) => {
    test(`sample ${i + 1}: ${f} decodes to the expected fields`, () => {
      const exp = samples[i]!;
      const b = load(f);
      if (/IKEv2/.test(exp)) {
        throwsNotify(() => decodeMessage(b), 'INVALID_MAJOR_VERSION', 17);
        return;
      }
      const m = roundTrips(b);
      assert.equal(toHex(m.header.responderCookie), /CKY-R=([0-9a-f]{16})/.exec(exp)![1]);
      const msgid = /msgid=([0-9a-f]{8})/.exec(exp);
      if (msgid) assert.equal(m.header.messageId.toString(16).padStart(8, '0'), msgid[1]);
      const sa = /SA=\((.*)\)/.exec(exp);
      if (sa) {
        const kv = Object.fromEntries(sa[1]!.split(' ').map((x) => x.split('=') as [string, string]));
        const t = of(m, 'SA')[0]!.proposals[0]!.transforms[0]!;
        const a = ikeAttributes(t);
        assert.equal(a.encryptionAlgorithm?.name, ENC[kv.Enc!]);
        assert.equal(a.hashAlgorithm?.name, HASH[kv.Hash!]);
        assert.equal(a.authMethod?.name, AUTH[kv.Auth!]);
        assert.equal(a.groupDescription?.value, Number(kv.Group!.split(':')[0]));
        assert.equal(a.lifetimes[0]?.type.name, kv.LifeType!.toUpperCase());
        const lenForm = Object.entries(kv).find(([k]) => k.startsWith('LifeDuration'))!;
        const d = /LifeDuration\((\d+)\)/.exec(lenForm[0]);
        assert.equal(a.lifetimes[0]?.duration, Number(lenForm[1]));
        if (d) {
          const raw = a.lifetimes[0]!.raw!;
          assert.equal(raw.format, 'TLV');
          assert.equal(raw.format === 'TLV' && raw.value.length, Number(d[1]));
        }
      }
      const vids = [...exp.matchAll(/VID=([0-9a-f]+)/g)].map((x) => x[1]);
      assert.deepEqual(data(m, 'VID').map(toHex), vids);
      const len = (re: RegExp): number | undefined => { const x = re.exec(exp); return x ? Number(x[1]) : undefined; };
      const ke = len(/KeyExchange\((\d+) bytes\)/);
      if (ke !== undefined) assert.equal(data(m, 'KE')[0]!.length, ke);
      const nonce = len(/Nonce\((\d+) bytes\)/);
      if (nonce !== undefined) assert.equal(data(m, 'NONCE')[0]!.length, nonce);
      const hash = len(/Hash\((\d+) bytes\)/);
      if (hash !== undefined) assert.equal(data(m, 'HASH')[0]!.length, hash);
      const sig = len(/Signature\((\d+) bytes\)/);
      if (sig !== undefined) assert.equal(data(m, 'SIG')[0]!.length, sig);
      const id = /ID\(Type=ID_IPV4_ADDR, Value=([\d.]+)\)/.exec(exp);
      if (id) {
        const p = of(m, 'ID')[0]!;
        assert.deepEqual(decodeIdentification(p.idType, p.data), { kind: 'ipv4', address: id[1] });
      }
      const cert = /Certificate\(Type=X\.509 Certificate - Signature, Length=(\d+) bytes\)/.exec(exp);
      if (cert) {
        const c = of(m, 'CERT')[0]!;
        assert.equal(c.encoding, 4);
        assert.equal(c.data.length, Number(cert[1]));
      }
      const notify = /Notify message (\d+)/.exec(exp);
      if (notify) assert.equal(of(m, 'N')[0]!.notifyType, Number(notify[1]));
      const text = /Message="(.*)\\000"/.exec(exp);
      if (text) assert.equal(Buffer.from(of(m, 'N')[0]!.data).toString('latin1'), `${text[1]}\0`);
    });
  });
  test('the requests ike-scan builds decode and round trip', () => {
    for (const f of ['pkt-default-proposal.dat', 'pkt-aggressive.dat', 'pkt-single-trans.dat']) {
      const m = roundTrips(load(f));
      assert.equal(toHex(m.header.initiatorCookie), 'deadbeefdeadbeef');
      assert.deepEqual(verify(m), []);
    }
    const custom = roundTrips(load('pkt-custom-proposal.dat'));
    assert.ok(verify(custom).some((l) => /RESERVED2 = 65535/.test(l)), 'ike-scan sets RESERVED fields to 0xff: verify reports them');
  });
  test('pkt-malformed: header length 517 ≠ 507-byte datagram → UNEQUAL_PAYLOAD_LENGTHS (length checked first)', () => {
    throwsNotify(() => decodeMessage(load('pkt-malformed.dat')), 'UNEQUAL_PAYLOAD_LENGTHS', 24);
  });
  test('pkt-ikev2 → INVALID_MAJOR_VERSION', () => {
    throwsNotify(() => decodeMessage(load('pkt-ikev2.dat')), 'INVALID_MAJOR_VERSION', 17);
  });
});

describe('tcpdump captures', { skip: present ? false : skipMsg }, () => {
  const dir = join(V, 'tcpdump');
  const cap = (f: string): ReturnType<typeof readCapture> => readCapture(new Uint8Array(readFileSync(join(dir, f))));
  test('ISAKMP_sa_setup.pcap: MM1..MM4 in clear, MM5/6 and QM encrypted, all round trip', () => {
    const c = cap('ISAKMP_sa_setup.pcap');
    const ms = c.datagrams.map((d) => roundTrips(d.data));
    assert.deepEqual(ms.map((m) => m.header.exchangeType), [2, 2, 2, 2, 2, 2, 32, 32, 32]);
    assert.deepEqual(ms.map((m) => m.encrypted?.length ?? -1), [-1, -1, -1, -1, 80, 48, 192, 192, 32]);
    assert.deepEqual(ms[2]!.payloads.map((p) => p.type), ['KE', 'NONCE', 'VID', 'VID', 'VID', 'VID', 'UNKNOWN', 'UNKNOWN']);
    // Payload 15 with 20-byte hashes: NAT-D of draft-ietf-ipsec-nat-t-ike-00/01 (15 is SAK in RFC 3547):
    // kept raw as UnknownPayload, as SHAPES #6(b) wants (never taken for NAT-D).
    assert.deepEqual(ms[2]!.payloads.filter((p) => p.type === 'UNKNOWN').map((p) => p.type === 'UNKNOWN' && [p.payloadType, p.body.length]), [[15, 20], [15, 20]]);
    const a = ikeAttributes(of(ms[0]!, 'SA')[0]!.proposals[0]!.transforms[0]!);
    assert.equal(a.encryptionAlgorithm?.name, 'AES_CBC');
    assert.equal(a.keyLength, 128);
    assert.equal(a.groupDescription?.name, 'MODP_768');
  });
  test('isakmp4500.pcap: port 500 and 4500 (marker stripped); ESP and keepalives skipped and counted', () => {
    const c = cap('isakmp4500.pcap');
    assert.deepEqual({ ...c.stats }, { frames: 35, isakmp: 15, esp: 8, keepalives: 4, other: 8, fragments: 0, truncated: 0 });
    const ms = c.datagrams.map((d) => roundTrips(d.data));
    assert.deepEqual(c.datagrams.map((d) => d.natt), [false, false, false, false, ...new Array(11).fill(true)]);
    assert.deepEqual(ms[2]!.payloads.map((p) => p.type), ['KE', 'NONCE', 'NAT-D', 'NAT-D']);
    assert.equal(ms[0]!.header.exchangeType, 2);
  });
  test('IKEv2 captures are refused with INVALID_MAJOR_VERSION (this is an IKEv1 codec)', () => {
    for (const f of ['ikev2four.pcap', 'ikev2pI2.pcap', 'ikev2-id-normal.pcap', 'ikev2-id-short.pcap', 'ikev2pI2-segfault.pcapng']) {
      for (const d of cap(f).datagrams) throwsNotify(() => decodeMessage(d.data), 'INVALID_MAJOR_VERSION', 17);
    }
  });
  // SHAPES.md §11 and #33: every crash reproducer ends in a value or a DecodeError, never reads outside.
  const expectations: Record<string, string> = {
    'isakmp-pointer-loop.pcap': 'UNEQUAL_PAYLOAD_LENGTHS', // header Length 0 in a 30-byte datagram
    'isakmp-delete-segfault.pcap': 'UNEQUAL_PAYLOAD_LENGTHS',
    'isakmpv1-attr-oobr.pcap': 'UNEQUAL_PAYLOAD_LENGTHS', // header Length 0xfff00020 > 45-byte datagram
    'ikev1_id_ipv6_addr_subnet-oobr.pcap': 'UNEQUAL_PAYLOAD_LENGTHS',
    'isakmp-ikev1_n_print-oobr.pcap': 'UNEQUAL_PAYLOAD_LENGTHS',
    'isakmp-various-oobr.pcap': 'UNEQUAL_PAYLOAD_LENGTHS',
    'isakmp-no-none-np.pcapng': 'UNEQUAL_PAYLOAD_LENGTHS',
  };
  for (const [f, notify] of Object.entries(expectations)) {
    test(`${f}: every ISAKMP datagram → DecodeError ${notify}`, () => {
      const c = cap(f);
      assert.ok(c.datagrams.length > 0);
      for (const d of c.datagrams) throwsNotify(() => decodeMessage(d.data), notify as never);
    });
  }
  test('isakmp-identification-segfault.pcap: MM whose first payload is ID (FQDN of zeros) decodes; the engine drops it (MM1 must start with SA)', () => {
    const [d] = cap('isakmp-identification-segfault.pcap').datagrams;
    const m = roundTrips(d!.data);
    assert.equal(m.header.exchangeType, 2);
    assert.deepEqual(m.payloads.map((p) => p.type), ['ID']);
    assert.equal(of(m, 'ID')[0]!.idType, 2);
  });
  test('the CVE-2017-12896 port-4500 reproducers are ESP (no marker): skipped and counted, not decoded', () => {
    assert.equal(cap('isakmp-rfc3948-oobr.pcap').stats.esp, 1);
    assert.equal(cap('isakmp-3948-oobr-2.pcap').stats.esp, 1);
    assert.equal(cap('isakmp-rfc3948-oobr.pcap').datagrams.length, 0);
  });
  test('the whole frame tail after the UDP header (ignoring IP/UDP lengths) also ends in a value or DecodeError', () => {
    // tcpdump's crash inputs lie in their IP/UDP lengths; feed the codec every suffix of every frame too.
    for (const f of readdirSync(dir).filter((x) => /\.pcap(ng)?$/.test(x))) {
      for (const d of cap(f).datagrams) {
        for (let cut = 0; cut < Math.min(d.data.length, 64); cut++) attempt(d.data.subarray(cut));
      }
    }
  });
  test('isakmp-delete-segfault payload shape (Delete SPI size 0xff × 0xffff SPIs in 544 bytes) → PAYLOAD_MALFORMED', () => {
    const body = new Uint8Array(544);
    const dv = new DataView(body.buffer);
    body[0] = 5; dv.setUint16(2, 544); dv.setUint32(4, 1); body[8] = 1; body[9] = 0xff; dv.setUint16(10, 0xffff);
    const msg = new Uint8Array(28 + 544 + 4);
    msg.set(hex('1b9310c2fc3d7afe4f39819b21e859fd'), 0);
    msg[16] = 12; msg[17] = 0x10; msg[18] = 5;
    new DataView(msg.buffer).setUint32(24, msg.length);
    msg.set(body, 28);
    // then an ID payload with length 0
    throwsNotify(() => decodeMessage(msg), 'PAYLOAD_MALFORMED', 28 + 9);
  });
});

describe('libreswan crash packets (SHAPES.md rows 6, 11, 12, 19)', { skip: present ? false : skipMsg }, () => {
  const rows = present
    ? readFileSync(join(V, 'libreswan/ikev1-crash-packets.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'))
    : [];
  const row = (src: string, i: number): Uint8Array => hex(rows.find((r) => r[0]!.endsWith(src) && r[1] === String(i))![3]!);
  test('cve-2009-0790 #0 (byte-swapped R_U_THERE) → UNEQUAL_PAYLOAD_LENGTHS (drop)', () => {
    throwsNotify(() => decodeMessage(row('cve-2009-0790.py', 0)), 'UNEQUAL_PAYLOAD_LENGTHS', 24);
  });
  test('cve-2015-3204 #0: SA situation 0xffffffff → SITUATION_NOT_SUPPORTED', () => {
    throwsNotify(() => decodeMessage(row('cve-2015-3204.py', 0)), 'SITUATION_NOT_SUPPORTED', 36);
  });
  test('cve-2015-3204 #1: first payload type 15 (SAK) → UnknownPayload; verify says INVALID_PAYLOAD_TYPE', () => {
    const m = roundTrips(row('cve-2015-3204.py', 1));
    assert.deepEqual(m.payloads.map((p) => p.type), ['UNKNOWN']);
    assert.equal(m.payloads[0]!.type === 'UNKNOWN' && m.payloads[0]!.payloadType, 15);
    assert.match(verify(m)[0]!, /payload type 15/);
  });
  test('cve-2022-23094 #0: malformed MM I1 → DecodeError (a bad transform chain precedes the length-1 VID)', () => {
    throwsNotify(() => decodeMessage(row('cve-2022-23094.py', 0)), 'BAD_PROPOSAL_SYNTAX', 84);
  });
  test('03-west-run #0: INFORMATIONAL with SA+VID and a responder cookie decodes (the engine drops: no state)', () => {
    const m = roundTrips(row('03-west-run.sh', 0));
    assert.equal(m.header.exchangeType, 5);
    assert.deepEqual(m.payloads.map((p) => p.type), ['SA', 'VID']);
  });
  test('03-west-run #1: MM whose first payload is typed SIG but holds an SA body decodes as SIG (the engine drops)', () => {
    const m = roundTrips(row('03-west-run.sh', 1));
    assert.equal(m.payloads[0]!.type, 'SIG');
  });
});

describe('scapy and wireshark samples', { skip: present ? false : skipMsg }, () => {
  const scapy = present
    ? Object.fromEntries(readFileSync(join(V, 'scapy/scapy-isakmp-examples.hex'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => { const c = l.split('\t'); return [c[0]!, hex(c[2]!)]; }))
    : {};
  test('scapy two notifications (INVALID-FLAGS with 6-byte data) decode and round trip', () => {
    const m = roundTrips(scapy.isakmp_two_notifications_invalid_flags!);
    assert.deepEqual(of(m, 'N').map((n) => [n.notifyType, toHex(n.data)]), [[8, '457272657572'], [0, '']]);
  });
  test('scapy SA with RESERVED2 = 0x3039 and a 3-byte life TLV: scapy leaves # of transforms 0 → BAD_PROPOSAL_SYNTAX', () => {
    const udp = scapy.transform_ip_udp_isakmp_sa_2transforms!.subarray(28);
    throwsNotify(() => decodeMessage(udp), 'BAD_PROPOSAL_SYNTAX', 47);
    // With the count fixed the rest of the message is valid: RESERVED2 kept, 3-byte TLV read as a number.
    const fixed = udp.slice();
    fixed[47] = 2;
    const m = roundTrips(fixed);
    const t = of(m, 'SA')[0]!.proposals[0]!.transforms[1]!;
    assert.equal(t.reserved2, 0x3039);
    assert.equal(ikeAttributes(t).lifetimes[0]?.duration, 0x015180);
  });
  test('scapy Delete with two 16-byte SPIs writes # of SPIs in one octet → PAYLOAD_MALFORMED', () => {
    throwsNotify(() => decodeMessage(scapy.isakmp_delete_two_16byte_spis!), 'PAYLOAD_MALFORMED', 38);
  });
  test('wireshark ikev1-certs MM1: SA RESERVED = 1 is tolerated, kept and reported', () => {
    const line = readFileSync(join(V, 'wireshark/ikev1-certs-mm1.hex'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'))!;
    const m = roundTrips(hex(line.trim()));
    assert.equal(toHex(m.header.initiatorCookie), 'fafaeb49382a763c');
    assert.equal(m.payloads[0]!.reserved, 1);
    assert.deepEqual(verify(m), ['payload[0]: generic header RESERVED = 1']);
    const a = ikeAttributes(of(m, 'SA')[0]!.proposals[0]!.transforms[0]!);
    assert.deepEqual([a.encryptionAlgorithm?.value, a.hashAlgorithm?.value, a.authMethod?.value, a.groupDescription?.value, a.lifetimes[0]?.duration], [5, 1, 3, 2, 0x7080]);
  });
});

describe('strongSwan certificate-parser crash corpus (SHAPES #18)', { skip: present ? false : skipMsg }, () => {
  test('each blob carried in a CERT payload decodes and round trips untouched (X.509 parsing is not the codec\'s)', () => {
    const dir = join(V, 'strongswan-fuzzing-corpora/certs-crash');
    const files = readdirSync(dir);
    assert.ok(files.length >= 20);
    for (const f of files) {
      const der = new Uint8Array(readFileSync(join(dir, f)));
      if (der.length > 60000) continue;
      const msg = encodeMessage({ header: { initiatorCookie: new Uint8Array(8).fill(1), responderCookie: new Uint8Array(8), nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType: 4, flags: 0, messageId: 0 }, payloads: [{ type: 'CERT', encoding: 4, data: der }] });
      const m = roundTrips(msg);
      assert.deepEqual(of(m, 'CERT')[0]!.data, der);
    }
  });
});
