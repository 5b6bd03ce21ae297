/** Helpers for the daemon tests: free UDP ports, temp dirs, waiting for events. */
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent, IpsecSaInfo } from '../../src/exchange/types.js';

/** n distinct free UDP ports on 127.0.0.1 (bound then released). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const socks = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createSocket>>((resolve) => {
      const s = createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** A free TCP port on 127.0.0.1 (listened on, then released). */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Collects events and lets a test wait for one matching a predicate (with a generous safety timeout). */
export class EventLog {
  readonly events: EngineEvent[] = [];
  private waiters: { pred: (e: EngineEvent) => boolean; resolve: (e: EngineEvent) => void }[] = [];
  push = (e: EngineEvent): void => {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.pred(e)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };
  wait(pred: (e: EngineEvent) => boolean, what: string, ms = 10_000): Promise<EngineEvent> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; saw: ${this.events.map((e) => e.type).join(', ')}`)), ms);
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
    });
  }
}

/** An IPsec SA record for dataplane tests: ESP AES-128/SHA2-256 tunnel 10.1/16 === 10.2/16, SPIs c0000001 (in) / c0000002 (out). */
export function fakeIpsecSa(): IpsecSaInfo {
  const k = (spi: number[], e: number, i: number) => ({ spi: Uint8Array.from(spi), keymat: new Uint8Array(0), encryptionKey: new Uint8Array(16).fill(e), integrityKey: new Uint8Array(32).fill(i) });
  return {
    id: 'qc0000001', isakmpSa: 'x', connection: 'lab', role: 'initiator', mode: 1, group: 14,
    local: { address: '198.18.0.1', port: 500 }, remote: { address: '198.18.0.2', port: 500 },
    localTs: { family: 4, start: '10.1.0.0', end: '10.1.255.255', prefix: 16, protocol: 0, port: 0 },
    remoteTs: { family: 4, start: '10.2.0.0', end: '10.2.255.255', prefix: 16, protocol: 0, port: 0 },
    lifetimeSeconds: 3600, lifetimeKilobytes: 0, establishedAt: 0,
    protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5, inbound: k([0xc0, 0, 0, 1], 0xaa, 0xbb), outbound: k([0xc0, 0, 0, 2], 0xcc, 0xdd) }],
  };
}

/**
 * The `secrets` and `connections` of the sharded daemons' tests: `load`, a %any responder on
 * 127.0.0.1 for bench/load-gen.ts (PSK `load-secret`, aes128-sha256-ecp256); more connections may
 * follow.
 */
export const LOAD_RESPONDER_YAML = `secrets:
  k: { psk: "load-secret", allow_weak_psk: true }
connections:
  load:
    secret: k
    local: { address: 127.0.0.1 }
    remote: { address: "%any", id: "%any" }
    ike: aes128-sha256-ecp256
    esp: aes128-sha256
`;
