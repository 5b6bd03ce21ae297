/**
 * A built-in sample IKEv1 exchange made with our own encoder (no captured bytes): Main Mode with
 * pre-shared key and NAT-T (MM1..MM4 in clear, MM5/MM6 encrypted), then Quick Mode (QM1..QM3,
 * encrypted). The bodies are really encrypted (AES-256-CBC, RFC 2409 App. B IVs from the two KE
 * payloads and the message IDs) under SAMPLE_KEY, a fixed demo key that is NOT derived from the
 * DH exchange (the KE values are filler): `sampleKeyLog()` lets `isakmp decode --keylog` and
 * Wireshark decrypt them. `isakmp decode --sample` decodes and prints these messages.
 * @module
 */
import {
  AuthMethod, Doi, EncapsulationMode, EncryptionAlgorithm, ExchangeType, GroupDescription, HashAlgorithm,
  HeaderFlag, IkeAttr, IpsecAttr, IsakmpTransformId, LifeType, PayloadType, ProtocolId, SaLifeType, AuthAlgorithm, EspTransformId,
} from '../constants/index.js';
import { encodeMessage, encodePayloads, tlv, tv, type Header, type Payload, type Transform } from '../codec/index.js';
import { cipherFor, encryptMessage, phase1Iv, phase2Iv } from '../crypto/index.js';
import { fromHex, toHex } from '../crypto/bytes.js';

/** Deterministic filler: a xorshift stream seeded by `seed` (sample data only, never keys). */
export function filler(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}


/** RFC 3706 DPD and RFC 3947 NAT-T vendor IDs (published MD5 hashes). */
export const VID_DPD = fromHex('afcad71368a1f1c96b8696fc77570100');
export const VID_RFC3947 = fromHex('4a131c81070358455c5728f20e95452f');

/** An IKE transform (RFC 2409 App. A) with life in seconds as a 4-octet TLV. */
export function ikeTransform(number: number, enc: number, keyLength: number | undefined, hash: number, group: number): Transform {
  const attributes = [
    tv(IkeAttr.ENCRYPTION_ALGORITHM, enc),
    ...(keyLength === undefined ? [] : [tv(IkeAttr.KEY_LENGTH, keyLength)]),
    tv(IkeAttr.HASH_ALGORITHM, hash),
    tv(IkeAttr.AUTHENTICATION_METHOD, AuthMethod.PRE_SHARED_KEY),
    tv(IkeAttr.GROUP_DESCRIPTION, group),
    tv(IkeAttr.LIFE_TYPE, LifeType.SECONDS),
    tlv(IkeAttr.LIFE_DURATION, fromHex('00015180')),
  ];
  return { number, id: IsakmpTransformId.KEY_IKE, attributes };
}

/** The SA payload of an MM1 offering `n` transforms (AES-256/128, 3DES × SHA2-256/SHA1 × MODP2048/ECP256). */
export function mm1Sa(n = 8): Payload {
  const encs: [number, number | undefined][] = [[EncryptionAlgorithm.AES_CBC, 256], [EncryptionAlgorithm.AES_CBC, 128], [EncryptionAlgorithm['3DES_CBC'], undefined]];
  const hashes = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA];
  const groups = [GroupDescription.MODP_2048, GroupDescription.ECP_256];
  const transforms: Transform[] = [];
  for (let i = 0; i < n; i++) {
    const [e, k] = encs[i % 3]!;
    transforms.push(ikeTransform(i + 1, e, k, hashes[(i >> 1) % 2]!, groups[i % 2]!));
  }
  return {
    type: 'SA', doi: Doi.IPSEC, situation: 1,
    proposals: [{ number: 1, protocol: ProtocolId.PROTO_ISAKMP, spi: new Uint8Array(0), transforms }],
  };
}

/** QM1's SA: one ESP proposal, AES-CBC-128 + HMAC-SHA2-256, tunnel mode, life in seconds and kilobytes. */
export function qmSa(spi: Uint8Array): Payload {
  return {
    type: 'SA', doi: Doi.IPSEC, situation: 1,
    proposals: [{
      number: 1, protocol: ProtocolId.PROTO_IPSEC_ESP, spi,
      transforms: [{
        number: 1, id: EspTransformId.ESP_AES_CBC, attributes: [
          tv(IpsecAttr.SA_LIFE_TYPE, SaLifeType.SECONDS), tv(IpsecAttr.SA_LIFE_DURATION, 3600),
          tv(IpsecAttr.SA_LIFE_TYPE, SaLifeType.KILOBYTES), tlv(IpsecAttr.SA_LIFE_DURATION, fromHex('0003d090')),
          tv(IpsecAttr.ENCAPSULATION_MODE, EncapsulationMode.TUNNEL),
          tv(IpsecAttr.AUTHENTICATION_ALGORITHM, AuthAlgorithm.HMAC_SHA2_256),
          tv(IpsecAttr.KEY_LENGTH, 128),
        ],
      }],
    }],
  };
}

export const ICOOKIE = fromHex('0123456789abcdef');
export const RCOOKIE = fromHex('fedcba9876543210');

function header(rc: Uint8Array, exchangeType: number, flags: number, messageId: number, nextPayload = 0): Header {
  return { initiatorCookie: ICOOKIE, responderCookie: rc, nextPayload, majorVersion: 1, minorVersion: 0, exchangeType, flags, messageId };
}

/** One message of the sample with a caption and the UDP addresses it travels between. */
export interface SampleMessage {
  readonly caption: string;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly bytes: Uint8Array;
}

/** The phase-1 encryption key of the sample (AES-256): a fixed demo value, not a derived key. */
export const SAMPLE_KEY = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

/** A key log for the sample in the `<initiator cookie>,<key>` form of Wireshark's ikev1_decryption_table. */
export function sampleKeyLog(): string {
  return `# isakmp sample exchange (demo key)\n${toHex(ICOOKIE)},${toHex(SAMPLE_KEY)}\n`;
}

/** The whole sample exchange, encoded. */
export function sampleExchange(): SampleMessage[] {
  const I = '192.0.2.1', R = '198.51.100.7';
  const z = new Uint8Array(8);
  const MM = ExchangeType.IDENTITY_PROTECTION, QM = ExchangeType.QUICK_MODE;
  const E = HeaderFlag.ENCRYPTION;
  const nonce = (seed: number): Payload => ({ type: 'NONCE', data: filler(32, seed) });
  const natd = (seed: number): Payload => ({ type: 'NAT-D', payloadType: 20, hash: filler(20, seed) });
  const gxi = filler(256, 1), gxr = filler(256, 5);
  // Transform 1 of the offer is chosen: AES-CBC-256, SHA2-256, MODP2048 (RFC 2409 App. B IVs).
  const cipher = cipherFor(EncryptionAlgorithm.AES_CBC, 256);
  let iv = phase1Iv('sha256', gxi, gxr, cipher.blockSize);
  const enc = (h: Header, payloads: Payload[], ivIn: Uint8Array): [Uint8Array, Uint8Array] => {
    const r = encryptMessage({ cipher, key: SAMPLE_KEY, iv: ivIn, plaintext: encodePayloads(payloads) });
    const first = payloads[0]!;
    const np = first.type === 'ID' ? PayloadType.ID : PayloadType.HASH;
    return [encodeMessage({ header: { ...h, nextPayload: np }, payloads: [], encrypted: r.ciphertext }), r.nextIv];
  };
  const idI: Payload = { type: 'ID', idType: 1, protocol: 17, port: 500, data: fromHex('c0000201') };
  const idR: Payload = { type: 'ID', idType: 1, protocol: 17, port: 500, data: fromHex('c6336407') };
  const [mm5, iv5] = enc(header(RCOOKIE, MM, E, 0), [idI, { type: 'HASH', data: filler(32, 9) }], iv);
  const [mm6, iv6] = enc(header(RCOOKIE, MM, E, 0), [idR, { type: 'HASH', data: filler(32, 10) }], iv5);
  iv = iv6; // last phase-1 CBC block
  const mid = 0x1d2c3b4a;
  const [qm1, q1] = enc(header(RCOOKIE, QM, E, mid), quickMode1Payloads(), phase2Iv('sha256', iv, mid, cipher.blockSize));
  const qm2Payloads: Payload[] = [{ type: 'HASH', data: filler(32, 23) }, qmSa(fromHex('c0ffee02')), nonce(24), ...quickMode1Payloads().slice(3)];
  const [qm2, q2] = enc(header(RCOOKIE, QM, E, mid), qm2Payloads, q1);
  const [qm3] = enc(header(RCOOKIE, QM, E, mid), [{ type: 'HASH', data: filler(32, 25) }], q2);
  const msgs: [string, boolean, Uint8Array][] = [
    ['MM1 initiator → responder: SA offer (8 transforms), vendor IDs', true, encodeMessage({ header: header(z, MM, 0, 0), payloads: [mm1Sa(8), { type: 'VID', data: VID_RFC3947 }, { type: 'VID', data: VID_DPD }] })],
    ['MM2 responder → initiator: chosen transform', false, encodeMessage({ header: header(RCOOKIE, MM, 0, 0), payloads: [{ ...mm1Sa(1) }, { type: 'VID', data: VID_RFC3947 }] })],
    ['MM3: KE, nonce, NAT-D × 2', true, encodeMessage({ header: header(RCOOKIE, MM, 0, 0), payloads: [{ type: 'KE', data: gxi }, nonce(2), natd(3), natd(4)] })],
    ['MM4: KE, nonce, NAT-D × 2', false, encodeMessage({ header: header(RCOOKIE, MM, 0, 0), payloads: [{ type: 'KE', data: gxr }, nonce(6), natd(7), natd(8)] })],
    ['MM5 (encrypted: IDii, HASH_I)', true, mm5],
    ['MM6 (encrypted: IDir, HASH_R)', false, mm6],
    ['QM1 (encrypted: HASH(1), SA, Ni, IDci, IDcr)', true, qm1],
    ['QM2 (encrypted: HASH(2), SA, Nr, IDci, IDcr)', false, qm2],
    ['QM3 (encrypted: HASH(3))', true, qm3],
  ];
  return msgs.map(([caption, fromI, bytes]) => ({
    caption, bytes, src: fromI ? I : R, dst: fromI ? R : I, srcPort: 500, dstPort: 500,
  }));
}

/** The plaintext QM1 payloads (what the encrypted QM1 above carries), for benchmarks and tests. */
export function quickMode1Payloads(): Payload[] {
  return [
    { type: 'HASH', data: filler(32, 21) },
    qmSa(fromHex('c0ffee01')),
    { type: 'NONCE', data: filler(32, 22) },
    { type: 'ID', idType: 4, protocol: 0, port: 0, data: fromHex('c0000200ffffff00') },
    { type: 'ID', idType: 4, protocol: 0, port: 0, data: fromHex('c6336400ffffff00') },
  ];
}
