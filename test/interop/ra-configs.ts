/**
 * The YAML of our daemon in the remote-access interop tests (XAUTH, Mode Config, Hybrid, the
 * charon-cmd profiles): one builder for every gateway and client those tests start, so each test
 * says only what differs (its connections' authentication, `xauth:` and extra keys).
 */

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/daemon/remote-access/index.js';
import { A, B, charon, Ours, RUN, script, until, type CharonChild, type CharonSa } from './peers.js';

/** XAUTH user alice's password in every remote-access interop test (interop/conf/charon/xauth-*.conf know it too). */
export const ALICE_PASSWORD = 'alice-password-4410';

/** The charon lab's group PSK of interop/conf/charon/xauth-*.conf (short: allowed as weak). */
export const LAB_GROUP_SECRET = '{ psk: "xauth-group-secret", allow_weak_psk: true }';

/** A gateway's remote end: any client. */
export const ANY_CLIENT = '{ address: "%any", id: "%any" }';

export interface RaConnection {
  readonly name: string;
  readonly auth: 'psk' | 'rsa' | 'hybrid';
  readonly secret: string;
  /** Our address (the `local:` address). */
  readonly local: string;
  /** The `remote:` value (flow YAML), e.g. ANY_CLIENT or `{ address: 198.18.0.2 }`. */
  readonly remote: string;
  /** The `xauth:` value (flow YAML). */
  readonly xauth: string;
  /** More keys of the connection, `key: value` each (local_ts, modecfg, pool, dns ...). */
  readonly extra?: readonly string[];
  /** Proposals (default aes256-sha256-modp2048 and aes128-sha256). */
  readonly ike?: string;
  readonly esp?: string;
}

/** A daemon listening on `listen` with debug logs, the named secrets (flow YAML values) and the connections. */
export function raYaml(o: { listen: string; sock: string; secrets: Readonly<Record<string, string>>; connections: readonly RaConnection[] }): string {
  const secrets = Object.entries(o.secrets).map(([name, value]) => `  ${name}: ${value}\n`).join('');
  const conns = o.connections
    .map(
      (c) => `  ${c.name}:
    auth: ${c.auth}
    secret: ${c.secret}
    local:  { address: ${c.local} }
    remote: ${c.remote}
    ike: ${c.ike ?? 'aes256-sha256-modp2048'}
    esp: ${c.esp ?? 'aes128-sha256'}
    xauth: ${c.xauth}
${(c.extra ?? []).map((k) => `    ${k}\n`).join('')}`,
    )
    .join('');
  return `global:
  listen: [${o.listen}]
  control_socket: ${o.sock}
  log: { level: debug }
secrets:
${secrets}connections:
${conns}`;
}

/** The `xauth:` value of a gateway checking a users file. */
export const usersFile = (path: string, retries?: number): string => `{ backend: "file:${path}"${retries !== undefined ? `, retries: ${retries}` : ''} }`;

/** The `xauth:` value of client alice. */
export const ALICE = `{ user: alice, password: "${ALICE_PASSWORD}" }`;

/**
 * Our gateway in B's namespace for charon as the XAUTH client: connection `roadwarriors` (group
 * PSK, any client, users file with alice), `local_ts: 10.1.0.0/16`, Mode Config (`modecfg`, pull
 * unless told) from 10.10.0.0/24, and `extra` keys.
 */
export async function startRaGateway(name: string, extra: readonly string[] = [], modecfg: 'pull' | 'push' = 'pull'): Promise<Ours> {
  const users = join(RUN, `${name}-users`);
  writeFileSync(users, `alice:${await hashPassword(ALICE_PASSWORD, { N: 1024, r: 8, p: 1 })}\n`, { mode: 0o600 });
  const rw: RaConnection = { name: 'roadwarriors', auth: 'psk', secret: 'group', local: B.ip, remote: ANY_CLIENT, xauth: usersFile(users, 3), extra: ['local_ts: 10.1.0.0/16', `modecfg: ${modecfg}`, 'pool: 10.10.0.0/24', ...extra] };
  return Ours.start(name, B.ns, (sock) => raYaml({ listen: B.ip, sock, secrets: { group: LAB_GROUP_SECRET }, connections: [rw] }));
}

/**
 * Inside a `describe`: the lab up, charon in A's namespace as the client with `conf` loaded, our
 * gateway (startRaGateway) in B's, before its tests; all stopped after. Returns our gateway.
 */
export function charonClientOfOurGateway(conf: string, name: string, extra: readonly string[] = [], modecfg: 'pull' | 'push' = 'pull'): () => Ours {
  let ours: Ours | undefined;
  before(async () => {
    const n = script('netns.sh', ['up']);
    assert.equal(n.code, 0, n.err);
    charon.start('a', A.ns);
    charon.load('a', conf);
    ours = await startRaGateway(name, extra, modecfg);
  });
  after(async () => {
    await ours?.stop();
    charon.stop('a');
    script('netns.sh', ['down']);
  });
  return () => {
    if (ours === undefined) throw new Error('our gateway did not start');
    return ours;
  };
}

/** charon (in A) brings up `ike` with its child `ra` against our gateway `gw`: its IKE_SA and the installed CHILD_SA (both logs when it fails). */
export async function charonUpInstalled(gw: Ours, ike: string): Promise<{ sa: CharonSa; child: CharonChild }> {
  const up = charon.up('a', ike, 'ra', 15);
  const sa = await until(() => charon.sas('a').find((s) => s.conn === ike && s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), 10_000);
  assert.ok(sa, `charon has no CHILD_SA:\n${up.out}\n${up.err}\n${charon.tail('a')}\n--- ours:\n${gw.log().slice(-4000)}`);
  const child = sa.children.find((c) => c.state === 'INSTALLED');
  assert.ok(child);
  return { sa, child };
}
