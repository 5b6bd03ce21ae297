// Chaos for remote access with several clients sharing the gateway's pool (2 to 4, some behind
// NATs), on the multi-node link of mesh.ts made bad (loss, duplication, reordering, outages of
// one client or of the gateway's link). Each client rekeys, reauthenticates, restarts (sometimes
// with a wrong password, sometimes as another user), goes away for good; the gateway rekeys. After
// calm: no internal or timer error, nothing half-open, each live client's IPsec SAs mirrored at the
// gateway on the address leased to its user, one lease per live user and none for anyone else.
// More seeds: CHAOS_SEEDS=200 (CHAOS_FROM=n); one seed's story: CHAOS_ONLY=1 and `chaosRaMulti(seed, true)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childKeys, conn, type Pair } from '../helpers/pair.js';
import { Mesh } from '../helpers/mesh.js';
import { GatewayDaemon, USERS, gatewayRekey, internalErrors, p1Cookies, passwordOf, showEvent, uniform } from '../helpers/ra-gateway.js';
import { subnetSelector, type Address, type Connection, type Endpoint, type EngineEvent } from '../../src/exchange/index.js';

const enc = new TextEncoder();
const GW: Address = { address: '192.0.2.2', port: 500 };

interface Client {
  readonly name: string;
  readonly addr: Address;
  readonly nat: { address: string; basePort: number } | undefined;
  user: string;
  password: string;
  gone: boolean;
  /** Cut off (an outage) until this time. */
  cutUntil: number;
}

export function chaosRaMulti(seed: number, verbose = false): string[] {
  const rnd = uniform(`chaos-ra-multi/${seed}`);
  const mesh = new Mesh(`chaos-ra-multi/${seed}`);
  const knobs = { loss: rnd() * 0.25, dup: rnd() * 0.2, reorder: rnd() * 0.3, delay: 2 + Math.floor(rnd() * 40) };
  mesh.knobs = knobs;
  const push = rnd() < 0.5;
  const exchange = rnd() < 0.3 ? 'aggressive' as const : 'main' as const;
  const ikeLife = 300 + Math.floor(rnd() * 600);
  const childLife = 60 + Math.floor(rnd() * 240);
  const dpdOf = () => (rnd() < 0.5 ? { dpd: { delaySeconds: 10 + Math.floor(rnd() * 20), timeoutSeconds: 30 + Math.floor(rnd() * 60) } } : {});
  const lifetimes = {
    ike: [{ encryption: 7, keyLength: 128, hash: 4, group: 14, lifetimeSeconds: ikeLife }],
    ipsec: [{ protocols: [{ protocol: 3, transformId: 12, keyLength: 128, authAlgorithm: 5 }], mode: 1, lifetimeSeconds: childLife }],
    rekeyMarginSeconds: Math.min(30, Math.floor(childLife / 3)),
    ikeRekeyMarginSeconds: Math.min(60, Math.floor(ikeLife / 4)),
    exchange,
    ...(exchange === 'aggressive' ? { allowAggressivePsk: true } : {}),
  };
  const dpdGw = dpdOf();
  const gateway = mesh.add('gw', GW);
  gateway.setConnection(conn({ addrA: { address: '0.0.0.0', port: 500 }, addrB: GW } as Pair, 'b', {
    ...lifetimes, ...dpdGw,
    remote: { address: '%any', port: 500 }, remoteId: { type: 'any' },
    xauth: { role: 'server', retries: 2 },
    modeConfig: { role: 'server', push },
    localTs: subnetSelector('10.1.0.0', 16),
  }));
  const n = 2 + Math.floor(rnd() * 3);
  const clients: Client[] = [];
  const policy = new Map<string, { rekey: boolean; dpd: object }>();
  for (let i = 0; i < n; i++) {
    const name = `c${i}`;
    const nat = rnd() < 0.4 ? { address: '203.0.113.9', basePort: 40000 + 10 * i } : undefined;
    clients.push({ name, addr: { address: `192.0.2.${10 + i}`, port: 500 }, nat, user: USERS[i]!, password: passwordOf(USERS[i]!), gone: false, cutUntil: 0 });
    policy.set(name, { rekey: rnd() < 0.5, dpd: dpdOf() });
  }
  const connOf = (c: Client): Connection => conn({ addrA: c.addr, addrB: GW } as Pair, 'a', {
    ...lifetimes, ...policy.get(c.name)!.dpd, rekey: policy.get(c.name)!.rekey,
    localId: { type: 'fqdn', value: `${c.user}.test` },
    xauth: { role: 'client', user: c.user, password: enc.encode(c.password) },
    modeConfig: { role: 'client', push },
    remoteTs: subnetSelector('10.1.0.0', 16),
  });
  const backendDelayMs = rnd() < 0.3 ? Math.floor(rnd() * 8000) : 0;
  const log: string[] = [`seed ${seed}: ${n} clients ${clients.map((c) => `${c.name}${c.nat ? '(NAT)' : ''} rekeys ${policy.get(c.name)!.rekey}`).join(', ')}; ${exchange} ${push ? 'push' : 'pull'} link ${JSON.stringify(knobs)} ike ${ikeLife}s child ${childLife}s gateway dpd ${JSON.stringify(dpdGw)} XAUTH backend ${backendDelayMs} ms`];
  const problems: string[] = [];
  const daemon = new GatewayDaemon(() => mesh.ep('gw'), () => mesh.now, mesh.events('gw'), push, log, backendDelayMs);
  // a restarted client is a new node: the events of the ones before it are kept here
  const before = new Map<string, EngineEvent[]>();
  const replace = (c: Client, tag: string): Endpoint => {
    before.set(c.name, [...(before.get(c.name) ?? []), ...mesh.events(c.name)]);
    return mesh.add(c.name, c.addr, {}, c.nat, `${seed}/${tag}`);
  };
  const start = (c: Client): void => {
    const ep = replace(c, String(mesh.now));
    ep.setConnection(connOf(c));
    ep.initiate(mesh.now, 'c');
  };
  const step = (ms: number): void => {
    for (let left = ms; left > 0; left -= 1000) {
      mesh.run(Math.min(1000, left));
      for (const c of clients) if (!c.gone && c.cutUntil <= mesh.now) mesh.cut.delete(c.name);
      if (mesh.cut.has('gw') && clients.every((c) => c.cutUntil <= mesh.now || c.gone)) mesh.cut.delete('gw');
      daemon.serve();
    }
  };
  const goneAt = rnd() < 0.4 ? Math.floor(rnd() * 1800) * 1000 : undefined;
  try {
    for (const c of clients) {
      mesh.add(c.name, c.addr, {}, c.nat, seed);
      start(c);
    }
    for (let t = 0; t < 1800_000; t += 5000) {
      step(5000);
      const live = clients.filter((c) => !c.gone);
      if (goneAt !== undefined && mesh.now >= goneAt && live.length === clients.length) {
        const c = live[Math.floor(rnd() * live.length)]!;
        log.push(`${mesh.now} ${c.name} (${c.user}) goes away for good`);
        c.gone = true;
        mesh.cut.add(c.name);
        replace(c, 'gone');
        continue;
      }
      const x = rnd();
      const c = live[Math.floor(rnd() * live.length)]!;
      const ep = mesh.ep(c.name);
      if (x < 0.03) {
        const sa = ep.ipsecSas()[0];
        if (sa) { log.push(`${mesh.now} ${c.name} rekey ${sa.id}`); ep.rekey(mesh.now, sa.id); }
      } else if (x < 0.05) {
        const sas = gateway.ipsecSas();
        const sa = sas[Math.floor(rnd() * sas.length)];
        if (sa) gatewayRekey(gateway, mesh.now, sa.id, log);
      } else if (x < 0.065) {
        const sa = ep.isakmpSas().find((s) => s.state === 'established');
        if (sa) { log.push(`${mesh.now} ${c.name} reauthenticates ${sa.id}`); ep.rekey(mesh.now, sa.id); }
      } else if (x < 0.07) {
        const sa = ep.ipsecSas()[0];
        if (sa) { log.push(`${mesh.now} ${c.name} delete ${sa.id}`); ep.delete(mesh.now, sa.id); }
      } else if (x < 0.075) {
        log.push(`${mesh.now} ${c.name} initiate`);
        ep.initiate(mesh.now, 'c');
      } else if (x < 0.09) {
        const ms = 30_000 + Math.floor(rnd() * 150_000);
        const all = rnd() < 0.3;
        log.push(`${mesh.now} outage of ${all ? 'the gateway\'s link' : c.name} ${ms} ms`);
        for (const o of all ? live : [c]) { o.cutUntil = mesh.now + ms; mesh.cut.add(o.name); }
        if (all) mesh.cut.add('gw');
      } else if (x < 0.1) {
        log.push(`${mesh.now} ${c.name} restarts`);
        c.password = passwordOf(c.user);
        start(c);
      } else if (x < 0.104) {
        log.push(`${mesh.now} ${c.name} restarts with a wrong password`);
        c.password = 'not-the-password';
        start(c);
      } else if (x < 0.108) {
        const free = USERS.filter((u) => !clients.some((o) => o.user === u));
        const next = free[Math.floor(rnd() * free.length)];
        if (next) {
          log.push(`${mesh.now} ${c.name} restarts as ${next}`);
          c.user = next;
          c.password = passwordOf(next);
          start(c);
        }
      }
    }
    // calm: no loss, nobody cut off but the gone; wrong passwords put right
    mesh.knobs = { delay: 5 };
    for (const c of clients) if (!c.gone) { c.cutUntil = 0; mesh.cut.delete(c.name); }
    mesh.cut.delete('gw');
    const calmFrom = new Map([...clients.map((c) => c.name), 'gw'].map((name) => [name, mesh.events(name).length]));
    for (const c of clients) if (!c.gone && c.password !== passwordOf(c.user)) { log.push(`${mesh.now} ${c.name} restarts with the right password`); c.password = passwordOf(c.user); start(c); }
    step(60_000);
    for (const c of clients) if (!c.gone) mesh.ep(c.name).initiate(mesh.now, 'c');
    step(Math.max(ikeLife, childLife) * 1000 * 2 + 120_000);
    for (const c of clients) if (!c.gone) mesh.ep(c.name).initiate(mesh.now, 'c');
    step(60_000);
    if (verbose) for (const [name, from] of calmFrom) log.push(`--- ${name} after calm began`, ...mesh.events(name).slice(from).map(showEvent));
  } catch (err) {
    problems.push(`exception: ${(err as Error).stack}`);
  }

  const live = clients.filter((c) => !c.gone);
  for (const name of ['gw', ...clients.map((c) => c.name)]) {
    const ie = internalErrors([...(before.get(name) ?? []), ...mesh.events(name)]);
    if (ie.length) problems.push(`${name}: internal errors: ${ie.slice(0, 3).join(' | ')}`);
  }
  for (const name of ['gw', ...live.map((c) => c.name)]) {
    const st = mesh.ep(name).stats();
    const most = name === 'gw' ? 2 * live.length : 2;
    if (st.halfOpen !== 0) problems.push(`${name}: ${st.halfOpen} half-open after calm`);
    if (st.isakmp > most || st.ipsec > most) problems.push(`${name}: ${st.isakmp} ISAKMP SAs, ${st.ipsec} IPsec SAs after calm`);
  }
  problems.push(...daemon.staleSessions());
  const leases = daemon.modeConfig.leases();
  const users = live.map((c) => c.user).sort();
  if (JSON.stringify(leases.map((l) => l.user).sort()) !== JSON.stringify(users)) problems.push(`gateway: leases ${JSON.stringify(leases)}, live users ${users}`);
  const leasedTo = new Map(leases.map((l) => [l.user, l.address]));
  // each gateway IPsec SA mirrors one of a live client's, on that client's leased address
  const clientOfSpi = new Map<string, Client>();
  const clientKeys: string[] = [];
  const clientP1s: string[] = [];
  for (const c of live) {
    const ep = mesh.ep(c.name);
    if (ep.ipsecSas().length === 0) problems.push(`${c.name} (${c.user}): nothing up after calm`);
    clientKeys.push(...childKeys(ep).outIn);
    clientP1s.push(...p1Cookies(ep));
    for (const sa of ep.ipsecSas()) {
      for (const p of sa.protocols) clientOfSpi.set(Buffer.from(p.inbound.spi).toString('hex'), c);
      if (sa.localTs.start !== leasedTo.get(c.user) || sa.localTs.end !== sa.localTs.start) problems.push(`${c.name}: IPsec SA ${sa.id} from ${sa.localTs.start}, ${c.user} leased ${leasedTo.get(c.user)}`);
    }
  }
  if (JSON.stringify(clientKeys.sort()) !== JSON.stringify(childKeys(gateway).inOut)) problems.push(`IPsec SAs not mirrored: clients ${JSON.stringify(clientKeys)} gateway ${JSON.stringify(childKeys(gateway).inOut)}`);
  if (JSON.stringify(clientP1s.sort()) !== JSON.stringify(p1Cookies(gateway))) problems.push(`ISAKMP SAs not mirrored: clients ${clientP1s} gateway ${p1Cookies(gateway)}`);
  for (const sa of gateway.ipsecSas()) {
    const c = clientOfSpi.get(Buffer.from(sa.protocols[0]!.outbound.spi).toString('hex'));
    if (c && (sa.remoteTs.start !== leasedTo.get(c.user) || sa.remoteTs.end !== sa.remoteTs.start)) problems.push(`gateway: IPsec SA ${sa.id} of ${c.name} to ${sa.remoteTs.start}, ${c.user} leased ${leasedTo.get(c.user)}`);
  }
  if (verbose || problems.length) return [...log, ...problems];
  return [];
}

const SEEDS = Number(process.env.CHAOS_SEEDS ?? 15);
const FROM = Number(process.env.CHAOS_FROM ?? 1);
test(`remote-access chaos with several clients over ${SEEDS} seeds: each on its own leased address, mirrored, no lease for what is gone`, { skip: process.env.CHAOS_ONLY !== undefined }, () => {
  const bad: string[] = [];
  for (let s = FROM; s < FROM + SEEDS; s++) {
    const p = chaosRaMulti(s);
    if (p.length) bad.push(p.join('\n  '));
  }
  assert.deepEqual(bad, []);
});
