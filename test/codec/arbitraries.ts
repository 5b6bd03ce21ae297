// fast-check generators of valid codec records, one per payload type, in the canonical form the
// decoder produces (optional RESERVED fields absent unless non-zero).
import fc from 'fast-check';
import type { DataAttribute, Header, LabeledDomain, Message, Payload, Proposal, Transform } from '../../src/codec/index.js';

const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonZero = (max: number): fc.Arbitrary<number | undefined> => fc.option(fc.integer({ min: 1, max }), { nil: undefined });

function withOptional<T extends object>(o: T, extra: Record<string, number | undefined>): T {
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as T;
}

export const attribute: fc.Arbitrary<DataAttribute> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0x7fff }), u16).map(([type, value]) => ({ format: 'TV' as const, type, value })),
  fc.tuple(fc.integer({ min: 0, max: 0x7fff }), bytes(0, 24)).map(([type, value]) => ({ format: 'TLV' as const, type, value })),
);

export const transform: fc.Arbitrary<Transform> = fc
  .tuple(u8, u8, fc.array(attribute, { maxLength: 6 }), nonZero(255), nonZero(0xffff))
  .map(([number, id, attributes, reserved, reserved2]) => withOptional({ number, id, attributes }, { reserved, reserved2 }));

const protoSpi: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
  fc.tuple(fc.constant(1), fc.oneof(bytes(0, 0), bytes(8, 8), bytes(16, 16))),
  fc.tuple(fc.constantFrom(2, 3), bytes(4, 4)),
  fc.tuple(fc.constant(4), fc.oneof(bytes(2, 2), bytes(4, 4))),
  fc.tuple(fc.integer({ min: 5, max: 255 }), bytes(0, 8)),
);

export const proposal: fc.Arbitrary<Proposal> = fc
  .tuple(u8, protoSpi, fc.array(transform, { minLength: 1, maxLength: 4 }), nonZero(255))
  .map(([number, [protocol, spi], transforms, reserved]) => withOptional({ number, protocol, spi, transforms }, { reserved }));

const labeledDomain: fc.Arbitrary<LabeledDomain> = fc
  .tuple(u32, bytes(0, 6), bytes(0, 4), bytes(0, 6), bytes(0, 4), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }))
  .map(([labeledDomainIdentifier, secrecyLevel, secrecyCategories, integrityLevel, integrityCategories, sCut, iCut]) => {
    const ld: Record<string, unknown> = { labeledDomainIdentifier, secrecyLevel, secrecyCategories, integrityLevel, integrityCategories };
    // A bit length that is not a multiple of 8 must survive too (bitmap of ceil(bits/8) octets).
    if (secrecyCategories.length > 0 && sCut % 2 === 0) ld.secrecyCategoryBits = secrecyCategories.length * 8 - sCut;
    if (integrityCategories.length > 0 && iCut % 2 === 0) ld.integrityCategoryBits = integrityCategories.length * 8 - iCut;
    return ld as unknown as LabeledDomain;
  });

const sa: fc.Arbitrary<Payload> = fc.oneof(
  fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(0, 1), fc.array(proposal, { minLength: 1, maxLength: 3 }))
    .map(([doi, situation, proposals]) => ({ type: 'SA' as const, doi, situation, proposals })),
  fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(2, 3, 4, 5, 6, 7), labeledDomain, fc.array(proposal, { minLength: 1, maxLength: 2 }))
    .map(([doi, situation, ld, proposals]) => ({ type: 'SA' as const, doi, situation, labeledDomain: ld, proposals })),
  fc.tuple(fc.integer({ min: 2, max: 0xffffffff }), bytes(0, 16))
    .map(([doi, raw]) => ({ type: 'SA' as const, doi, situation: 0, proposals: [], raw })),
);

const idData: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
  fc.tuple(fc.constant(1), bytes(4, 4)), fc.tuple(fc.constant(4), bytes(8, 8)), fc.tuple(fc.constant(7), bytes(8, 8)),
  fc.tuple(fc.constant(5), bytes(16, 16)), fc.tuple(fc.constant(6), bytes(32, 32)), fc.tuple(fc.constant(8), bytes(32, 32)),
  fc.tuple(fc.constantFrom(2, 3, 9, 10, 11), bytes(1, 40)),
  fc.tuple(fc.constantFrom(0, 12, 13, 200, 255), bytes(0, 20)),
);

const notifySpi: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
  fc.tuple(fc.constant(1), fc.oneof(bytes(0, 0), bytes(8, 8), bytes(16, 16))),
  fc.tuple(fc.constantFrom(2, 3), fc.oneof(bytes(0, 0), bytes(4, 4))),
  fc.tuple(fc.constant(4), fc.oneof(bytes(0, 0), bytes(2, 2), bytes(4, 4))),
  fc.tuple(fc.constantFrom(0, 5, 99), bytes(0, 16)),
);

const deleteSpis: fc.Arbitrary<[number, number, Uint8Array[]]> = fc
  .tuple(fc.constantFrom(1, 2, 3, 4, 4, 7), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }))
  .chain(([protocol, count, other]) => {
    const size = protocol === 1 ? 16 : protocol === 2 || protocol === 3 ? 4 : protocol === 4 ? (other % 2 ? 2 : 4) : other;
    return fc.array(bytes(size, size), { minLength: count, maxLength: count }).map((spis) => [protocol, size, spis] as [number, number, Uint8Array[]]);
  });

const KNOWN = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 130, 131, 132]);

export const payloadArbs: Record<string, fc.Arbitrary<Payload>> = {
  SA: sa,
  KE: bytes(0, 40).map((data) => ({ type: 'KE' as const, data })),
  ID: fc.tuple(idData, u8, u16).map(([[idType, data], protocol, port]) => ({ type: 'ID' as const, idType, protocol, port, data })),
  CERT: fc.tuple(u8, bytes(0, 40)).map(([encoding, data]) => ({ type: 'CERT' as const, encoding, data })),
  CR: fc.tuple(u8, bytes(0, 40)).map(([certType, authority]) => ({ type: 'CR' as const, certType, authority })),
  HASH: bytes(0, 64).map((data) => ({ type: 'HASH' as const, data })),
  SIG: bytes(0, 64).map((data) => ({ type: 'SIG' as const, data })),
  NONCE: bytes(8, 256).map((data) => ({ type: 'NONCE' as const, data })),
  N: fc.tuple(u32, notifySpi, u16, bytes(0, 24)).map(([doi, [protocol, spi], notifyType, data]) => ({ type: 'N' as const, doi, protocol, notifyType, spi, data })),
  D: fc.tuple(u32, deleteSpis).map(([doi, [protocol, spiSize, spis]]) => ({ type: 'D' as const, doi, protocol, spiSize, spis })),
  VID: bytes(0, 32).map((data) => ({ type: 'VID' as const, data })),
  ATTR: fc.tuple(u8, u16, fc.array(attribute, { maxLength: 6 }), nonZero(255), nonZero(3))
    .map(([cfgType, identifier, attributes, reserved2, padding]) => withOptional({ type: 'ATTR' as const, cfgType, identifier, attributes }, { reserved2, padding })),
  'NAT-D': fc.tuple(fc.constantFrom(20 as const, 130 as const), bytes(0, 32)).map(([payloadType, hash]) => ({ type: 'NAT-D' as const, payloadType, hash })),
  'NAT-OA': fc.tuple(fc.constantFrom(21 as const, 131 as const), fc.oneof(fc.tuple(fc.constant(1), bytes(4, 4)), fc.tuple(fc.constant(5), bytes(16, 16)), fc.tuple(fc.constantFrom(0, 2, 9, 77), bytes(0, 20))), nonZero(0xffffff))
    .map(([payloadType, [idType, address], reserved2]) => withOptional({ type: 'NAT-OA' as const, payloadType, idType, address }, { reserved2 })),
  FRAG: fc.tuple(u16, fc.integer({ min: 1, max: 255 }), u8, bytes(0, 40))
    .map(([fragmentId, fragmentNumber, flags, data]) => ({ type: 'FRAG' as const, fragmentId, fragmentNumber, flags, data })),
  UNKNOWN: fc.tuple(u8.filter((t) => !KNOWN.has(t)), bytes(0, 32)).map(([payloadType, body]) => ({ type: 'UNKNOWN' as const, payloadType, body })),
};

/** Any payload, with a non-zero generic RESERVED octet now and then. */
export const payload: fc.Arbitrary<Payload> = fc
  .tuple(fc.oneof(...Object.values(payloadArbs)), fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined, freq: 8 }))
  .map(([p, reserved]) => (reserved === undefined ? p : ({ ...p, reserved } as Payload)));

export const header: fc.Arbitrary<Header> = fc
  .tuple(bytes(8, 8), bytes(8, 8), u8, fc.constantFrom(0, 2, 4, 6), u32)
  .map(([initiatorCookie, responderCookie, exchangeType, flags, messageId]) => ({
    initiatorCookie, responderCookie, nextPayload: 0, majorVersion: 1, minorVersion: 0, exchangeType, flags, messageId,
  }));

export const message: fc.Arbitrary<Message> = fc.oneof(
  fc.tuple(header, fc.array(payload, { maxLength: 6 })).map(([h, payloads]) => ({
    header: { ...h, nextPayload: payloads.length ? payloadTypeNumber(payloads[0]!) : 0 }, payloads,
  })),
  fc.tuple(header, u8, bytes(0, 64)).map(([h, np, encrypted]) => ({ header: { ...h, flags: h.flags | 1, nextPayload: np }, payloads: [], encrypted })),
);

function payloadTypeNumber(p: Payload): number {
  const t: Record<string, number> = { SA: 1, KE: 4, ID: 5, CERT: 6, CR: 7, HASH: 8, SIG: 9, NONCE: 10, N: 11, D: 12, VID: 13, ATTR: 14, FRAG: 132 };
  return 'payloadType' in p ? p.payloadType : t[p.type]!;
}
