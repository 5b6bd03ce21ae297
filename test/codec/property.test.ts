// Round-trip law: decode(encode(v)) deep-equals v for generated records of every payload type,
// and encode(decode(b)) equals b for the bytes so produced (fast-check, fixed seed per run).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloads, payloadTypeOf } from '../../src/codec/index.js';
import { message, payloadArbs } from './arbitraries.js';

describe('decode(encode(v)) = v (fast-check)', () => {
  for (const [name, arb] of Object.entries(payloadArbs)) {
    test(`every ${name} payload survives encode → decode`, () => {
      fc.assert(fc.property(fc.array(arb, { minLength: 1, maxLength: 3 }), (ps) => {
        const bytes = encodePayloads(ps);
        assert.deepEqual(decodePayloads(payloadTypeOf(ps[0]!), bytes), ps);
      }), { numRuns: 200 });
    });
  }
  test('whole messages (clear and encrypted) survive encode → decode, and re-encode to the same bytes', () => {
    fc.assert(fc.property(message, (m) => {
      const bytes = encodeMessage(m);
      const d = decodeMessage(bytes);
      assert.deepEqual(d, m);
      assert.deepEqual(encodeMessage(d), bytes);
    }), { numRuns: 500 });
  });
});
