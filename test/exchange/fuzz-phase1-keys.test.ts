// A sender who knows the pre-shared key (a remote-access group PSK is shared by every user of the
// group, and often leaked) gets past decryption of Main Mode message 5 and Aggressive Mode message
// 3 without authenticating: what it puts in them reaches the decoders and the identity and
// authentication checks of a responder that has not yet authenticated anyone. Generated payload
// chains (test/helpers/fuzz-payloads.ts) and chains shaped like MM5 / AM3, encrypted with the
// half-open SA's keys and IV as such a sender would (white box, src/exchange/inspect.ts).
// Asserted: handleDatagram never throws, no refusal is an internal error, nothing is established,
// the half-open table stays bounded and empties at the half-open lifetime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeHeader, encodeMessage } from '../../src/codec/index.js';
import { encryptMessage } from '../../src/crypto/index.js';
import { inspect } from '../../src/exchange/inspect.js';
import type { Identity } from '../../src/exchange/index.js';
import { Pair, conn, type ConnOverrides } from '../helpers/pair.js';
import { chainBytes, idBody, notifyBody, payload, type RawPayload } from '../helpers/fuzz-payloads.js';

type Mode = 'main' | 'aggressive';

/** One source sends hundreds of AM1s here: the responder's Aggressive Mode rate limit is not what is tested. */
const UNLIMITED = { perSecond: 1e6, burst: 1e6, perSourcePerSecond: 1e6, perSourceBurst: 1e6 };

const IDS = { a: { type: 'fqdn', value: 'client.example' } as Identity, b: { type: 'fqdn', value: 'gateway.example' } as Identity };

function over(mode: Mode, side: 'a' | 'b'): ConnOverrides {
  const ecp = { ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 19 }], fragmentation: 'no' as const };
  if (mode === 'main') return ecp;
  return { ...ecp, exchange: 'aggressive', allowAggressivePsk: true, localId: IDS[side], remoteId: IDS[side === 'a' ? 'b' : 'a'] };
}

/**
 * A negotiation that stops where the sender's first encrypted message would go (MM5 or AM3: the
 * initiator's is dropped on the link); the responder holds the half-open SA with its keys.
 */
function halfOpen(pair: Pair, mode: Mode): string {
  const ex = mode === 'main' ? 2 : 4;
  pair.tap = (from, d) => {
    const h = decodeHeader(d);
    return from === 'a' && h.exchangeType === ex && (h.flags & 1) !== 0 ? null : d;
  };
  pair.a.initiate(pair.now, 'c');
  pair.run(60);
  const p = inspect(pair.b).phase1s().find((x) => x.keys !== undefined && x.halfOpen);
  if (!p) throw new Error(`halfOpen(${mode}): the responder holds no half-open SA with keys`);
  return p.id;
}

/** The message the sender would send: HDR* (message ID 0) and the chain, under the half-open SA's keys and IV. */
function sealed(pair: Pair, saId: string, mode: Mode, chain: readonly RawPayload[]): Uint8Array {
  const k = inspect(pair.b).isakmpSaKeys(saId);
  const { ciphertext } = encryptMessage({ cipher: k.cipher, key: k.encKey, iv: k.iv, plaintext: chainBytes(chain) });
  return encodeMessage({
    header: { initiatorCookie: k.ic, responderCookie: k.rc, nextPayload: chain[0]?.type ?? 0, majorVersion: 1, minorVersion: 0, exchangeType: mode === 'main' ? 2 : 4, flags: 1, messageId: 0 },
    payloads: [],
    encrypted: ciphertext,
  });
}

/** MM5-like (ID, HASH [, N] [, VID]) and AM3-like (HASH [, N] [, NAT-D, NAT-D]) chains, fields fuzzed. */
function shaped(mode: Mode, cookies: Uint8Array): fc.Arbitrary<RawPayload[]> {
  const p = (type: number, body: Uint8Array): RawPayload => ({ type, body, lie: null });
  const hash = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 70 }));
  const extra = fc.array(fc.oneof(notifyBody(cookies).map((b) => p(11, b)), fc.uint8Array({ maxLength: 20 }).map((b) => p(13, b)), fc.uint8Array({ maxLength: 40 }).map((b) => p(20, b)), fc.uint8Array({ maxLength: 300 }).map((b) => p(6, Uint8Array.from([4, ...b])))), { maxLength: 3 });
  if (mode === 'main') return fc.tuple(idBody, hash, extra).map(([id, h, x]) => [p(5, id), p(8, h), ...x]);
  return fc.tuple(hash, extra).map(([h, x]) => [p(8, h), ...x]);
}

for (const mode of ['main', 'aggressive'] as const) {
  test(`${mode === 'main' ? 'Main Mode message 5' : 'Aggressive Mode message 3'} from a sender that knows the PSK, payloads fuzzed: never escapes, no internal error, nothing established, half-open state bounded`, () => {
    const pair = new Pair({ seed: `p1fuzz-${mode}`, b: { halfOpenPerPeer: 1000, aggressiveRate: UNLIMITED } });
    pair.a.setConnection(conn(pair, 'a', over(mode, 'a')));
    pair.b.setConnection(conn(pair, 'b', over(mode, 'b')));
    let refused = 0;
    let runs = 0;
    const chain = fc.oneof(fc.array(payload(new Uint8Array(16)), { maxLength: 5 }), shaped(mode, new Uint8Array(16)));
    fc.assert(
      fc.property(chain, (c) => {
        // a fresh negotiation per message: a refused message 5 / 3 may end the half-open SA
        const saId = halfOpen(pair, mode);
        const before = pair.events.b.length;
        assert.doesNotThrow(() => pair.inject('b', sealed(pair, saId, mode, c)));
        runs++;
        for (const e of pair.events.b.slice(before)) {
          if (e.type === 'dropped' || e.type === 'failed') refused++;
          if (e.type === 'dropped') assert.notEqual(e.code, 'INTERNAL_ERROR', e.reason);
        }
        assert.equal(pair.ev('b', 'phase1-established').length, 0, 'nothing established from garbage');
        assert.ok(pair.b.stats().halfOpen <= 1000);
        // the initiator's own (dropped) message is retransmitted later: leave its state behind
        pair.a.delete(pair.now, inspect(pair.a).phase1s()[0]?.id ?? '');
      }),
      { numRuns: 250, seed: mode === 'main' ? 515 : 313 },
    );
    assert.ok(refused >= runs * 0.9, `the messages were read and refused (${refused} of ${runs})`);
    pair.tap = undefined;
    pair.run(120_000);
    assert.equal(pair.b.stats().halfOpen, 0, 'the half-open SAs expired');
    // the responder still works: an honest negotiation completes
    pair.a.initiate(pair.now, 'c');
    pair.run(5000);
    assert.equal(pair.ev('b', 'phase1-established').length, 1);
    assert.equal(pair.b.ipsecSas().length, 1);
  });
}
