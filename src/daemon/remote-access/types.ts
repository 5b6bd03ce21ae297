/**
 * The contract between the remote-access engine side (XAUTH, Mode Config) and the daemon's user
 * backends and address pools (docs/remote-access.md). Kept verbatim as agreed for issue 12.
 */
/** One user's credentials checked by a backend (never logged; never in status or the key log). */
export interface XauthRequest {
  readonly user: string;
  readonly password: string;          // secret: never logged
  readonly connection: string;
  readonly peer: { readonly address: string; readonly port: number };
  readonly peerId: string;            // the phase-1 identity text (group name, FQDN, DN)
}

export type XauthResult =
  | { readonly ok: true; readonly framedIp?: string; readonly framedNetmask?: string;
      readonly attributes?: Readonly<Record<string, string>>; readonly backend: string }
  | { readonly ok: false; readonly reason: string; readonly backend: string };  // reason: operator words, no password

export interface XauthBackend {
  readonly name: string;              // 'file:/etc/isakmp/users' or 'radius'
  authenticate(req: XauthRequest): Promise<XauthResult>;   // never rejects: failures are ok:false
  /** RADIUS accounting (optional): session start/stop with the assigned address. */
  accountingStart?(s: SessionInfo): void;
  accountingStop?(s: SessionInfo & { readonly bytesIn?: number; readonly bytesOut?: number }): void;
  close(): Promise<void>;
}

export interface SessionInfo { readonly user: string; readonly sessionId: string; readonly address?: string; readonly peer: string; readonly connection: string }

export interface Lease { readonly address: string; readonly identity: string; readonly user?: string; readonly since: number }

/** An address pool of one connection: ranges or subnets (IPv4; IPv6 if cheap), leases by identity+user. */
export interface AddressPool {
  readonly name: string;
  readonly size: number;
  /** The same identity+user gets its previous address back while its lease lives; undefined = exhausted. */
  lease(identity: string, user: string | undefined, now: number, wanted?: string): string | undefined;
  /** One holder less; true when that was the last and the address is free again. */
  release(address: string, now: number): boolean;
  leases(): readonly Lease[];
  /** State kept across `isakmp reload` (a new pool object built from the new config adopts it). */
  snapshot(): unknown;
  adopt(snapshot: unknown): void;
}
