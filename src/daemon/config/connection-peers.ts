/**
 * A connection's two ends: addresses, ports and identities (with their defaults: the addresses
 * for `psk`, our certificate's subject for `rsa`), and the traffic selectors on each side.
 */
import { isIP } from 'node:net';
import type { Node } from 'yaml';
import { IdType } from '../../constants/index.js';
import { certSubjectDer } from '../der.js';
import { parseIdentity, parseTrafficSelector } from './identities.js';
import { ANY_IDENTITY, type ConfigIdentity, type GlobalConfig, type Secret, type TrafficSelector } from './types.js';
import { entries, integer, scalarString, stringList, type Section } from './yaml.js';

interface End {
  address: string | undefined;
  port: number;
  id: ConfigIdentity | undefined;
  node: Node | null;
}

/** `local:` (address, id) or `remote:` (address, port, id; address may be `%any`). */
function parseEnd(s: Section, key: 'local' | 'remote', g: GlobalConfig): End {
  const { ctx } = s;
  const p = `${s.path}.${key}`;
  const v = key === 'remote' ? s.req(key) : s.entries.get(key);
  const out: End = { address: undefined, port: g.port, id: undefined, node: v?.value ?? null };
  if (v === undefined) return out;
  const ee = entries(ctx, v.value, p, key === 'remote' ? ['address', 'port', 'id'] : ['address', 'id']);
  if (ee === undefined) return out;
  const a = ee.get('address');
  if (a !== undefined) {
    const text = scalarString(ctx, a.value, `${p}.address`);
    if (text !== undefined) {
      if (text === '%any' && key === 'remote') out.address = text;
      else if (isIP(text) === 0) ctx.error(a.value, `${p}.address`, `'${text}' is not an IP address${key === 'remote' ? ' (or %any for a responder-only connection)' : ''}`);
      else out.address = text;
    }
  } else if (key === 'remote') ctx.error(v.value, p, `missing 'address' (the peer's IP address)`);
  const po = ee.get('port');
  if (po !== undefined) out.port = integer(ctx, po.value, `${p}.port`, 1, 65535) ?? out.port;
  const id = ee.get('id');
  if (id !== undefined) {
    const text = scalarString(ctx, id.value, `${p}.id`);
    if (text === '%any' && key === 'remote') out.id = ANY_IDENTITY;
    else if (text !== undefined) {
      const r = parseIdentity(text);
      if (r.ok) out.id = r.value;
      else ctx.error(id.value, `${p}.id`, r.error);
    }
  }
  return out;
}

export interface Peers {
  readonly local: { readonly address: string | undefined; readonly id: ConfigIdentity | undefined };
  readonly remote: { readonly address: string | undefined; readonly port: number; readonly id: ConfigIdentity | undefined };
  /** `remote.address: %any`: a responder-only connection. */
  readonly anyPeer: boolean;
}

/** Both ends and the identities each side shows, defaults filled in. */
export function parsePeers(s: Section, g: GlobalConfig, auth: 'psk' | 'rsa' | 'hybrid', secret: Secret | undefined): Peers {
  const { ctx, path } = s;
  const local = parseEnd(s, 'local', g);
  const remote = parseEnd(s, 'remote', g);
  const anyPeer = remote.address === '%any';
  if (local.address !== undefined && remote.address !== undefined && !anyPeer && isIP(local.address) !== isIP(remote.address)) {
    ctx.error(local.node, `${path}.local.address`, `local ${local.address} and remote ${remote.address} are not the same IP version`);
  }
  // Default identities: the addresses (psk), the certificate's subject (rsa).
  let localId = local.id;
  if (localId === undefined && auth !== 'psk' && secret?.kind === 'rsa') {
    localId = { type: IdType.ID_DER_ASN1_DN, data: certSubjectDer(secret.cert.raw), text: secret.cert.subject.split('\n').join(', ') };
  } else if (localId === undefined && local.address !== undefined && auth === 'psk') {
    const r = parseIdentity(local.address);
    localId = r.ok ? r.value : undefined;
  }
  let remoteId = remote.id;
  if (anyPeer && remoteId === undefined) {
    ctx.error(remote.node, `${path}.remote.id`, `with address %any give the identity the peers must prove (id: "%any" accepts any)`);
  }
  if (remoteId === undefined && remote.address !== undefined && !anyPeer && auth === 'psk') {
    const r = parseIdentity(remote.address);
    if (r.ok) remoteId = r.value;
  }
  if (auth === 'psk' && localId === undefined) {
    ctx.error(s.node, `${path}.local`, `set local.address (our address, also our default identity) or local.id: with a wildcard listen address we cannot tell which identity to show`);
  }
  return { local: { address: local.address, id: localId }, remote: { address: remote.address, port: remote.port, id: remoteId }, anyPeer };
}

/** Selectors per side at most (the pairs are IPsec SAs under one ISAKMP SA: 16 × 16 = 256). */
const MAX_SELECTORS = 16;

/**
 * `local_ts` / `remote_ts`: a selector or a list of them each (one IPsec SA per local × remote
 * pair of the same IP version); the default is the end's own address.
 */
export function parseSelectors(s: Section, peers: Peers): { localTs: TrafficSelector[]; remoteTs: TrafficSelector[] } {
  const { ctx, path } = s;
  const selectors = (key: 'local_ts' | 'remote_ts', dfltAddr: string | undefined): TrafficSelector[] => {
    const v = s.entries.get(key);
    if (v === undefined) {
      if (dfltAddr === undefined) return [];
      const r = parseTrafficSelector(dfltAddr);
      return r.ok ? [r.value] : [];
    }
    const out: TrafficSelector[] = [];
    for (const item of stringList(ctx, v.value, `${path}.${key}`) ?? []) {
      const r = parseTrafficSelector(item.text);
      if (r.ok) out.push(r.value);
      else ctx.error(item.node, `${path}.${key}`, r.error);
    }
    if (out.length > MAX_SELECTORS) ctx.error(v.value, `${path}.${key}`, `at most ${MAX_SELECTORS} selectors per side (each local × remote pair is an IPsec SA)`);
    return out;
  };
  const localTs = selectors('local_ts', peers.local.address);
  const remoteTs = selectors('remote_ts', peers.anyPeer ? undefined : peers.remote.address);
  // every pair of the same IP version is an IPsec SA: there must be one at least
  if (localTs.length > 0 && remoteTs.length > 0 && !localTs.some((l) => remoteTs.some((r) => r.family === l.family))) {
    ctx.error(s.at('local_ts'), `${path}.local_ts`, 'local_ts and remote_ts must be the same IP version');
  }
  return { localTs, remoteTs };
}
