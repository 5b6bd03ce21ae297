/**
 * The RADIUS backend end to end against a real FreeRADIUS (freeradius.ts): accept, reject with
 * Reply-Message, Framed-IP-Address/Netmask, a wrong shared secret, the first server down → the
 * second answers, accounting Start/Stop in the server's detail file. Registered twice: by
 * radius.test.ts in `npm test` (skipped with a message when FreeRADIUS is missing) and by
 * test/interop/radius.test.ts, which never skips.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createRadiusBackend, type RadiusBackendOptions } from '../../../src/daemon/remote-access/radius-backend.js';
import type { XauthBackend, XauthRequest } from '../../../src/daemon/remote-access/types.js';
import { startFreeRadius, type FreeRadius } from './freeradius.js';

const SECRET = 'lab-Secret-42';
const USERS = `# users of the isakmp RADIUS tests
alice Cleartext-Password := "alice-Pw-1"
	Reply-Message := "Welcome alice"

bob Cleartext-Password := "b0b pw é"
	Framed-IP-Address := 10.77.0.9,
	Framed-IP-Netmask := 255.255.255.0,
	Class := "grp-eng",
	Session-Timeout := 3600

carol Cleartext-Password := "carol-pw", Auth-Type := Reject
`;

const PASSWORDS = ['alice-Pw-1', 'b0b pw é', 'carol-pw', 'wrong-pw'];

const req = (user: string, password: string): XauthRequest => ({ user, password, connection: 'rw', peer: { address: '198.51.100.23', port: 4500 }, peerId: 'vpn-group' });

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A detail-file record as attribute → value (the first of each). */
function records(detail: string): Map<string, string>[] {
  return detail
    .split(/\n\n+/)
    .filter((r) => r.trim() !== '')
    .map((r) => new Map(r.split('\n').slice(1).map((l) => l.trim().split(' = ') as [string, string])));
}

export function registerFreeRadiusCases(skip: string | false): void {
  describe('RADIUS backend against FreeRADIUS', { skip }, () => {
    let fr: FreeRadius;
    let down: Socket; // a bound port nobody answers on: the dead first server
    const logs: string[] = [];
    const allLogs: string[] = [];
    const backends: XauthBackend[] = [];
    const make = (o: Partial<RadiusBackendOptions> = {}): XauthBackend => {
      const b = createRadiusBackend({
        servers: [{ address: '127.0.0.1', port: fr.authPort, secret: Buffer.from(SECRET) }],
        timeoutMs: 1000,
        retries: 1,
        log: (level, msg) => {
          logs.push(`${level}: ${msg}`);
          allLogs.push(`${level}: ${msg}`);
        },
        ...o,
      });
      backends.push(b);
      return b;
    };

    before(async () => {
      fr = await startFreeRadius({ secret: SECRET, users: USERS });
      down = createSocket('udp4');
      await new Promise<void>((r) => down.bind(0, '127.0.0.1', () => r()));
    });
    after(async () => {
      for (const b of backends) await b.close();
      down?.close();
      await fr?.stop();
      // whatever happened, no password reached our logs
      assert.ok(allLogs.length > 0, 'the backends logged something to check');
      for (const l of allLogs) for (const p of PASSWORDS) assert.ok(!l.includes(p), `a password in a log line: ${l}`);
    });

    test('accept: Reply-Message and the server in the attributes', async () => {
      const r = await make().authenticate(req('alice', 'alice-Pw-1'));
      assert.deepEqual(r, { ok: true, backend: 'radius', attributes: { server: `127.0.0.1:${fr.authPort}`, 'reply-message': 'Welcome alice' } });
      // what FreeRADIUS received, from its own debug output
      assert.match(fr.output(), /User-Name = "alice"/);
      assert.match(fr.output(), /Calling-Station-Id = "198\.51\.100\.23"/);
      assert.match(fr.output(), /NAS-Identifier = "isakmp"/);
    });

    test('reject: a wrong password, an unknown user and a disabled one, with the server\'s Reply-Message', async () => {
      const b = make();
      assert.deepEqual(await b.authenticate(req('alice', 'wrong-pw')), { ok: false, reason: `rejected by RADIUS server 127.0.0.1:${fr.authPort}: Login refused for alice`, backend: 'radius' });
      assert.deepEqual(await b.authenticate(req('mallory', 'wrong-pw')), { ok: false, reason: `rejected by RADIUS server 127.0.0.1:${fr.authPort}: Login refused for mallory`, backend: 'radius' });
      assert.deepEqual(await b.authenticate(req('carol', 'carol-pw')), { ok: false, reason: `rejected by RADIUS server 127.0.0.1:${fr.authPort}: Login refused for carol`, backend: 'radius' });
    });

    test('Framed-IP-Address and Framed-IP-Netmask (a password with a space and UTF-8)', async () => {
      const r = await make({ nasIdentifier: 'gw-1', nasIpAddress: '192.0.2.1' }).authenticate(req('bob', 'b0b pw é'));
      assert.deepEqual(r, { ok: true, backend: 'radius', framedIp: '10.77.0.9', framedNetmask: '255.255.255.0', attributes: { server: `127.0.0.1:${fr.authPort}`, 'session-timeout': '3600' } });
      assert.match(fr.output(), /NAS-Identifier = "gw-1"/);
      assert.match(fr.output(), /NAS-IP-Address = 192\.0\.2\.1/);
    });

    test('a wrong shared secret: FreeRADIUS drops the request, the reason says what to check', async () => {
      const b = make({ servers: [{ address: '127.0.0.1', port: fr.authPort, secret: Buffer.from('not-the-secret') }], timeoutMs: 300, retries: 0 });
      const r = await b.authenticate(req('alice', 'alice-Pw-1'));
      assert.deepEqual(r, { ok: false, reason: `no RADIUS server answered (asked 127.0.0.1:${fr.authPort}): check that they run and list this host as a client with the same shared secret`, backend: 'radius' });
      await until('FreeRADIUS to report the bad Message-Authenticator', () => /invalid Message-Authenticator|Shared secret is incorrect/i.test(fr.output()));
    });

    test('the first server down: the second answers, and is asked first while the first is marked dead', async () => {
      logs.length = 0;
      const b = make({
        servers: [
          { address: '127.0.0.1', port: down.address().port, secret: Buffer.from(SECRET) },
          { address: '127.0.0.1', port: fr.authPort, secret: Buffer.from(SECRET) },
        ],
        timeoutMs: 1000, // FreeRADIUS -X on a loaded machine may take a few hundred ms
        retries: 1,
      });
      const r = await b.authenticate(req('bob', 'b0b pw é'));
      assert.equal(r.ok, true);
      assert.equal(r.ok && r.framedIp, '10.77.0.9');
      assert.equal(r.ok && r.attributes?.server, `127.0.0.1:${fr.authPort}`);
      assert.deepEqual(logs, [`warn: RADIUS server 127.0.0.1:${down.address().port} did not answer (2 tries, 1000 ms each): check that it runs and lists this host as a client with the same shared secret; trying the next server`]);
      const again = await b.authenticate(req('alice', 'wrong-pw'));
      assert.equal(again.ok === false && again.reason, `rejected by RADIUS server 127.0.0.1:${fr.authPort}: Login refused for alice`);
      assert.equal(logs.length, 1, 'the dead server was not asked again');
    });

    test('accounting Start and Stop reach the server with the session, the address, the Class and the byte counts', async () => {
      const b = make({ accounting: true });
      const login = await b.authenticate(req('bob', 'b0b pw é'));
      assert.equal(login.ok, true);
      const session = { user: 'bob', sessionId: 'isk-5f3a-1', address: '10.77.0.9', peer: '198.51.100.23:4500', connection: 'rw' };
      b.accountingStart!(session);
      await until('the Start record', () => records(fr.detail()).some((r) => r.get('Acct-Session-Id') === '"isk-5f3a-1"'));
      b.accountingStop!({ ...session, bytesIn: 5_000_000_000, bytesOut: 1234 });
      await until('the Stop record', () => records(fr.detail()).filter((r) => r.get('Acct-Session-Id') === '"isk-5f3a-1"').length === 2);
      const [start, stop] = records(fr.detail()).filter((r) => r.get('Acct-Session-Id') === '"isk-5f3a-1"');
      for (const [k, v] of <[string, string][]>[['User-Name', '"bob"'], ['Framed-IP-Address', '10.77.0.9'], ['Calling-Station-Id', '"198.51.100.23"'], ['NAS-Identifier', '"isakmp"'], ['Acct-Authentic', 'RADIUS'], ['Class', `0x${Buffer.from('grp-eng').toString('hex')}`]]) {
        assert.equal(start!.get(k), v, `Start ${k}`);
        assert.equal(stop!.get(k), v, `Stop ${k}`);
      }
      assert.equal(start!.get('Acct-Status-Type'), 'Start');
      assert.equal(stop!.get('Acct-Status-Type'), 'Stop');
      assert.equal(stop!.get('Acct-Input-Octets'), String(5_000_000_000 - 2 ** 32));
      assert.equal(stop!.get('Acct-Input-Gigawords'), '1');
      assert.equal(stop!.get('Acct-Output-Octets'), '1234');
      assert.match(stop!.get('Acct-Session-Time') ?? '', /^\d+$/);
      assert.ok(!logs.some((l) => l.startsWith('warn') && l.includes('accounting')), logs.join('\n'));
    });
  });
}
