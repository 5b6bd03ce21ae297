/**
 * The connection table (configuration): connections by name and by remote address, so that a
 * responder finds the candidates for a peer in O(1) in the number of peers; and the rules that
 * compare connections (may a Quick Mode of one run under an ISAKMP SA of another).
 * @module
 */
import { NotifyType } from '../constants/index.js';
import { bytesEqual } from '../crypto/bytes.js';
import { LocalProtocolError } from '../errors.js';
import { addTo, bucket, bucketView, removeFrom, type Bucket } from './bucket.js';
import { sameAddress } from './keys.js';
import { checkConnectionProposals } from './proposals.js';
import type { Address, Connection } from './types.js';

/** Refuses a connection the engine cannot run (LocalProtocolError naming the connection). */
export function validateConnection(c: Connection): void {
  if (!c.name) throw new LocalProtocolError(0, 'connection needs a name');
  const problem = checkConnectionProposals(c.ike, c.ipsec, c.allowWeakGroups ?? false);
  if (problem) throw new LocalProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `connection ${c.name}: ${problem}`);
  // (a caller without the types may still leave the credentials out)
  if (c.auth === 'psk' && (!c.psk || c.psk.length === 0)) throw new LocalProtocolError(0, `connection ${c.name}: psk missing`);
  if (c.auth === 'rsa-sig' && !c.rsa) throw new LocalProtocolError(0, `connection ${c.name}: rsa credentials missing`);
  const hybridClient = c.xauth?.hybrid === true && c.xauth.role === 'client';
  if (c.auth === 'rsa-sig' && !c.rsa.privateKey && !hybridClient) throw new LocalProtocolError(0, `connection ${c.name}: private key missing (only a Hybrid XAUTH client signs nothing)`);
  if (c.xauth?.hybrid && c.auth !== 'rsa-sig') throw new LocalProtocolError(0, `connection ${c.name}: Hybrid authentication needs rsa-sig (the gateway's certificate)`);
  const groups = new Set(c.ipsec.map((p) => p.group ?? 0));
  if (groups.size > 1) throw new LocalProtocolError(0, `connection ${c.name}: all IPsec proposals must use the same PFS group`);
}

export class ConnectionTable {
  private readonly byName = new Map<string, Connection>();
  /** By lower-case remote address ('%any' included). */
  private readonly byRemote = new Map<string, Bucket<Connection>>();

  /** Adds or replaces (by name) a validated connection. */
  set(c: Connection): void {
    validateConnection(c);
    this.remove(c.name);
    this.byName.set(c.name, c);
    addTo(this.byRemote, c.remote.address.toLowerCase(), c);
  }

  remove(name: string): boolean {
    const old = this.byName.get(name);
    if (!old) return false;
    removeFrom(this.byRemote, old.remote.address.toLowerCase(), old);
    return this.byName.delete(name);
  }

  get(name: string): Connection | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): Connection[] {
    return [...this.byName.values()];
  }

  /** The configured version of `c` (a rekey uses the connection as configured now), else `c` itself. */
  current(c: Connection): Connection {
    return this.byName.get(c.name) ?? c;
  }

  /** Connections that may serve a peer address: those naming it, then the '%any' ones. */
  forAddress(address: string): Connection[] {
    return [...bucket(this.byRemote, address.toLowerCase()), ...bucket(this.byRemote, '%any')];
  }

  /** Responder: the connections a first phase-1 message of `mode` from `remoteAddr` to `local` may be for. */
  candidates(local: Address, remoteAddr: Address, mode: 'main' | 'aggressive'): Connection[] {
    const out: Connection[] = [];
    // exact remote matches first, then '%any' (no intermediate arrays: this runs for every MM1/AM1)
    for (const key of [remoteAddr.address.toLowerCase(), '%any']) {
      for (const c of bucketView(this.byRemote, key)) {
        if ((c.exchange ?? 'main') !== mode) continue;
        const l = c.local.address;
        if (l !== '%any' && l !== '0.0.0.0' && l !== '::' && !sameAddress(l, local.address)) continue;
        out.push(c);
      }
    }
    return out;
  }
}

/** The phase-1 policy of a connection as text (identities first: they differ most), computed once per connection object. */
const policyKeys = new WeakMap<Connection, string>();

function policyKey(c: Connection): string {
  let k = policyKeys.get(c);
  if (k === undefined) {
    k = JSON.stringify([c.localId ?? null, c.remoteId ?? null, c.auth, c.exchange ?? 'main', c.ike]);
    policyKeys.set(c, k);
  }
  return k;
}

/** May a Quick Mode for `b` run under an ISAKMP SA negotiated for `a` (same peer policy)? */
export function sharesIsakmpSa(a: Connection, b: Connection): boolean {
  if (a === b || a.name === b.name) return true;
  if (policyKey(a) !== policyKey(b)) return false;
  if (a.auth === 'psk') return b.auth === 'psk' && bytesEqual(a.psk, b.psk);
  return b.auth === 'rsa-sig' && a.rsa.privateKey === b.rsa.privateKey;
}
