/**
 * Generators of raw ISAKMP payload chains for structure-aware fuzzing (fast-check): SA trees with
 * proposals, transforms and attributes, notifies and Deletes that may name a live SA, IDs,
 * Transaction attributes, unknown types and lying length fields; and chains shaped like the
 * messages handlers expect. Used by the fuzz tests of test/exchange.
 */
import fc from 'fast-check';

/** One payload of a generated chain: its type, its body, and a length field that may lie. */
export interface RawPayload {
  readonly type: number;
  readonly body: Uint8Array;
  readonly lie: number | null;
}

/** `arb` one time in four, else null. */
export function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: arb, weight: 1 });
}

export const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** Data attributes, TV (short) or TLV (variable), with types near the ones that mean something. */
export const attribute = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 0xffff })).map(([t, v]) => [0x80, t, ...u16(v)]),
  fc.tuple(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom(16520, 16521, 16522, 16523, 16524, 16525, 28672, 28676)), fc.uint8Array({ maxLength: 40 })).map(([t, v]) => [
    (t >>> 8) & 0x7f,
    t & 0xff,
    ...u16(v.length),
    ...v,
  ]),
  fc.tuple(fc.constantFrom(16520, 16521, 16522, 16523, 16524, 1, 2, 3), fc.integer({ min: 0, max: 0xffff })).map(([t, v]) => [0x80 | ((t >>> 8) & 0x7f), t & 0xff, ...u16(v)]),
);
export const attributes = fc.array(attribute, { maxLength: 8 }).map((a) => a.flat());

/** A transform (generic header, number, id, reserved, attributes), its next-payload field given. */
export const transform = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 20 }), attributes).map(([num, id, attrs]) => ({ num, id, attrs }));
export const proposal = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 1, 2, 3, 4, 5), fc.constantFrom(0, 2, 4, 8), fc.array(transform, { minLength: 0, maxLength: 3 }), fc.boolean()).map(([num, protocol, spiSize, ts, countLie]) => {
  const tBytes = ts.flatMap((t, i) => {
    const body = [t.num, t.id, 0, 0, ...t.attrs];
    return [i === ts.length - 1 ? 0 : 3, 0, ...u16(4 + body.length), ...body];
  });
  const body = [num, protocol, spiSize, countLie ? (ts.length + 1) & 0xff : ts.length, ...new Array(spiSize).fill(0x5a), ...tBytes];
  return body;
});
export const saBody = fc.tuple(fc.constantFrom(1, 0, 2), fc.constantFrom(1, 0, 2, 0xffffffff), fc.array(proposal, { maxLength: 3 })).map(([doi, sit, ps]) => {
  const pBytes = ps.flatMap((p, i) => [i === ps.length - 1 ? 0 : 2, 0, ...u16(4 + p.length), ...p]);
  return Uint8Array.from([...u32(doi), ...u32(sit), ...pBytes]);
});

export const NOTIFY_TYPES = [1, 11, 14, 16, 18, 24, 30, 24576, 24577, 24578, 36136, 36137, 16384, 20480, 20481, 0, 65535];
/** `cookies`: the live SA's cookies, so that some Deletes and notifies name it. */
export function notifyBody(cookies: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(1, 0, 2), fc.constantFrom(1, 3, 2, 0, 4), fc.constantFrom(0, 4, 16, 8), fc.constantFrom(...NOTIFY_TYPES), fc.uint8Array({ maxLength: 24 }), fc.boolean())
    .map(([doi, proto, spiSize, type, data, ours]) => {
      const spi = spiSize === 16 && ours ? [...cookies] : new Array(spiSize).fill(0x11);
      return Uint8Array.from([...u32(doi), proto, spiSize, ...u16(type), ...spi, ...data]);
    });
}
export function deleteBody(cookies: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(1, 0), fc.constantFrom(1, 3, 2, 0, 4), fc.constantFrom(16, 4, 2, 0, 3), fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.boolean()).map(([doi, proto, spiSize, n, ours, countLie]) => {
    const spis: number[] = [];
    for (let i = 0; i < n; i++) spis.push(...(spiSize === 16 && ours && i === 0 ? [...cookies] : new Array(spiSize).fill(0x22 + i)));
    return Uint8Array.from([...u32(doi), proto, spiSize, ...u16(countLie ? 0xffff : n), ...spis]);
  });
}
export const idBody = fc.tuple(fc.integer({ min: 0, max: 13 }), fc.constantFrom(0, 6, 17, 255), fc.constantFrom(0, 500, 4500), fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(Uint8Array.of(10, 1, 0, 0, 255, 255, 0, 0), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(10, 0, 0, 1)))).map(([t, p, port, d]) => Uint8Array.from([t, p, ...u16(port), ...d]));
export const attrPayloadBody = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffff }), attributes).map(([t, id, a]) => Uint8Array.from([t, 0, ...u16(id), ...a]));

export function payload(cookies: Uint8Array): fc.Arbitrary<RawPayload> {
  // a length field that lies, one payload in four
  const lie = sometimes(fc.integer({ min: 0, max: 0xffff }));
  const typed = (type: number, body: fc.Arbitrary<Uint8Array>): fc.Arbitrary<RawPayload> => fc.tuple(body, lie).map(([b, l]) => ({ type, body: b, lie: l }));
  return fc.oneof(
    typed(1, saBody),
    typed(11, notifyBody(cookies)),
    typed(12, deleteBody(cookies)),
    typed(5, idBody),
    typed(14, attrPayloadBody),
    typed(10, fc.uint8Array({ maxLength: 300 })),
    typed(4, fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(new Uint8Array(256), new Uint8Array(256).fill(0xff)))),
    typed(8, fc.uint8Array({ maxLength: 40 })),
    typed(13, fc.uint8Array({ maxLength: 20 })),
    typed(21, fc.tuple(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 20 })).map(([t, d]) => Uint8Array.from([t, 0, 0, 0, ...d]))),
    typed(20, fc.uint8Array({ maxLength: 40 })),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 60 }), lie).map(([type, body, l]) => ({ type, body, lie: l })),
  );
}

/**
 * An SA payload our connection would take (ESP AES-128 HMAC-SHA2-256, tunnel; DOI 1, SIT_IDENTITY_ONLY),
 * one of its attribute values sometimes changed, a lifetime sometimes added: Quick Modes that get
 * past the proposal check and leave state waiting for HASH(3).
 */
export function acceptableSaBytes(spiSize: number, change: [number, number] | null, life: number | null): Uint8Array {
  const attrs = [
    [0x80, 4, 0, 1],
    [0x80, 5, 0, 5],
    [0x80, 6, 0, 128],
  ];
  if (change !== null) attrs[change[0] % 3] = [0x80, attrs[change[0] % 3]![1]!, ...u16(change[1])];
  const lifeBytes = life === null ? [] : [0x80, 1, 0, 1, 0, 2, 0, 4, ...u32(life)];
  const tBody = [1, 12, 0, 0, ...lifeBytes, ...attrs.flat()];
  const t = [0, 0, ...u16(4 + tBody.length), ...tBody];
  const pBody = [1, 3, spiSize, 1, ...new Array<number>(spiSize).fill(0x5a), ...t];
  return Uint8Array.from([...u32(1), ...u32(1), 0, 0, ...u16(4 + pBody.length), ...pBody]);
}
export const acceptableSa = fc
  .tuple(
    fc.oneof({ arbitrary: fc.constant(4), weight: 6 }, { arbitrary: fc.constantFrom(0, 3, 16), weight: 1 }),
    sometimes(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }))),
    fc.option(fc.integer({ min: 0, max: 0xffffffff })),
  )
  .map(([spiSize, change, life]) => acceptableSaBytes(spiSize, change, life));

/** Chains shaped like the messages the handlers expect (QM1, a notify or Delete, a Transaction), fields fuzzed, with their exchange type. */
export function shapedChain(cookies: Uint8Array): fc.Arbitrary<{ exchange: number; chain: RawPayload[] }> {
  const p = (type: number, body: Uint8Array): RawPayload => ({ type, body, lie: null });
  const qm1 = fc
    .tuple(fc.oneof({ arbitrary: acceptableSa, weight: 3 }, { arbitrary: saBody, weight: 1 }), fc.oneof({ arbitrary: fc.uint8Array({ minLength: 8, maxLength: 64 }), weight: 6 }, { arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 1 }), sometimes(fc.uint8Array({ maxLength: 300 })), sometimes(fc.tuple(idBody, idBody)))
    .map(([sa, nonce, ke, ids]) => [p(1, sa), p(10, nonce), ...(ke === null ? [] : [p(4, ke)]), ...(ids === null ? [] : [p(5, ids[0]), p(5, ids[1])])]);
  const info = fc.array(fc.oneof(notifyBody(cookies).map((b) => p(11, b)), deleteBody(cookies).map((b) => p(12, b))), { minLength: 1, maxLength: 3 });
  const cfg = attrPayloadBody.map((b) => [p(14, b)]);
  return fc.oneof(qm1.map((chain) => ({ exchange: 32, chain })), info.map((chain) => ({ exchange: 5, chain })), cfg.map((chain) => ({ exchange: 6, chain })));
}

/** The bytes after HASH(1): each payload's generic header chained to the next one's type. */
export function chainBytes(chain: readonly RawPayload[]): Uint8Array {
  const out: number[] = [];
  chain.forEach((p, i) => {
    const next = chain[i + 1]?.type ?? 0;
    out.push(next, 0, ...u16(p.lie ?? 4 + p.body.length), ...p.body);
  });
  return Uint8Array.from(out);
}
