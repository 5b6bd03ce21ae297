/**
 * Writes an import result (model.ts) as an isakmp configuration file (docs/config.md): a header
 * naming the source and every skipped connection, then global, secrets and connections, with a
 * comment beside or above every setting that needs the operator's attention (a weak PSK is
 * carried over with `allow_weak_psk: true` and a comment saying why). Strings from the
 * source are written as double-quoted YAML scalars, so no value can change the file's structure.
 * @module
 */
import { durationText, type ImportResult, type ImportedConnection, type ImportedSecret } from './model.js';
import { toHex } from '../crypto/bytes.js';
import { pskStrength, pskWeakness } from '../daemon/config/psk-strength.js';

const WIDTH = 100;

/** A YAML double-quoted scalar (JSON's escapes are valid YAML). */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** A plain scalar when it is safe and reads back as the same string, else quoted. */
function scalar(s: string): string {
  return /^[A-Za-z][A-Za-z0-9_.\/-]*$/.test(s) && !/^(y|n|yes|no|true|false|on|off|null)$/i.test(s) ? s : quote(s);
}

function comment(text: string, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line.length > 0 && indent.length + 2 + line.length + 1 + w.length > WIDTH) {
      out.push(`${indent}# ${line}`);
      line = '  ' + w;
    } else line = line.length > 0 ? `${line} ${w}` : w;
  }
  if (line.length > 0) out.push(`${indent}# ${line}`);
  return out;
}

function pskText(psk: Uint8Array): string {
  const s = Buffer.from(psk).toString('utf8');
  const printable = Buffer.from(s, 'utf8').equals(Buffer.from(psk)) && /^[\x20-\x7e]+$/.test(s) && !/^0x([0-9a-fA-F]{2})+$/.test(s);
  return printable ? quote(s) : `0x${toHex(psk)}`;
}

function sameSecret(a: ImportedSecret, b: ImportedSecret): boolean {
  if (a.kind === 'psk' && b.kind === 'psk') return Buffer.from(a.psk).equals(Buffer.from(b.psk));
  if (a.kind === 'rsa' && b.kind === 'rsa') return a.cert === b.cert && a.key === b.key && a.ca.join('\n') === b.ca.join('\n');
  return false;
}

function connectionLines(c: ImportedConnection, secretName: string): string[] {
  const L: string[] = [`  ${scalar(c.name)}:`];
  L.push(...comment(c.origin, '    '));
  for (const n of c.notes) L.push(...comment(n, '    '));
  const put = (key: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) L.push(`    ${key}: ${value}`);
  };
  put('mode', c.mode);
  put('auth', c.auth);
  put('secret', scalar(secretName));
  const local = [c.local.address !== undefined ? `address: ${quote(c.local.address)}` : '', c.local.id !== undefined ? `id: ${quote(c.local.id)}` : ''].filter(Boolean);
  if (local.length > 0) put('local', `{ ${local.join(', ')} }`);
  const remote = [`address: ${quote(c.remote.address)}`, c.remote.port !== undefined ? `port: ${c.remote.port}` : '', c.remote.id !== undefined ? `id: ${quote(c.remote.id)}` : ''].filter(Boolean);
  put('remote', `{ ${remote.join(', ')} }`);
  put('ike', c.ike.join(', '));
  if (c.esp.length > 0) put('esp', c.esp.join(', '));
  if (c.ah !== undefined && c.ah.length > 0) put('ah', c.ah.join(', '));
  put('pfs', c.pfs);
  put('ipsec_mode', c.ipsecMode);
  const selectors = (list: readonly string[]): string => (list.length === 1 ? quote(list[0]!) : `[${list.map(quote).join(', ')}]`);
  if (c.localTs !== undefined && c.localTs.length > 0) put('local_ts', selectors(c.localTs));
  if (c.remoteTs !== undefined && c.remoteTs.length > 0) put('remote_ts', selectors(c.remoteTs));
  if (c.ikeLifetime !== undefined) put('ike_lifetime', durationText(c.ikeLifetime));
  if (c.ikeRekeyMargin !== undefined) put('ike_rekey_margin', durationText(c.ikeRekeyMargin));
  if (c.lifetime !== undefined) put('lifetime', durationText(c.lifetime));
  if (c.rekeyMargin !== undefined) put('rekey_margin', durationText(c.rekeyMargin));
  put('lifetime_kb', c.lifetimeKb);
  put('rekey_fuzz', c.rekeyFuzz);
  put('start', c.start);
  if (c.allowWeakGroups === true) {
    L.push(...comment('WEAK: the source uses Diffie-Hellman groups below 2048-bit MODP; carried so that the tunnel still comes up. Move both sides to modp2048 or stronger, then remove this line.', '    '));
    put('allow_weak_groups', true);
  }
  if (c.allowAggressivePskResponder === true) {
    L.push(...comment('Aggressive Mode with a pre-shared key lets anyone who sends message 1 get a hash to crack offline; the source allowed it as responder.', '    '));
    put('allow_aggressive_psk_responder', true);
  }
  put('nat_traversal', c.natTraversal);
  put('encap', c.encap);
  if (c.dpdDelay === 0) L.push("    dpd_delay: 0   # the source sends no DPD (isakmp still answers the peer's R-U-THERE)");
  else if (c.dpdDelay !== undefined) put('dpd_delay', durationText(c.dpdDelay));
  if (c.dpdTimeout !== undefined) put('dpd_timeout', durationText(c.dpdTimeout));
  put('dpd_action', c.dpdAction);
  return L;
}

/** The configuration file for `r`. */
export function renderConfig(r: ImportResult): string {
  const L: string[] = [];
  L.push(`# isakmp configuration imported from ${r.source} (${r.format}) by 'isakmp import'.`);
  L.push('# Comments mark every setting that was not carried over, and why. Check the file with:');
  L.push('#   isakmp daemon --check --config FILE');
  if (r.skipped.length > 0) {
    L.push('#', '# Connections not imported:');
    for (const s of r.skipped) L.push(...comment(`- ${s.name}: ${s.reason}`, ''));
  }
  if (r.notes.length > 0) {
    L.push('#', '# Not carried over from the rest of the file:');
    for (const n of r.notes) L.push(...comment(`- ${n}`, ''));
  }
  L.push('');
  if (r.global.length > 0) {
    L.push('global:');
    for (const g of r.global) {
      if (g.note !== undefined) L.push(...comment(g.note, '  '));
      L.push(`  ${g.key}: ${g.value}`);
    }
    L.push('');
  }
  // one secret per distinct key, named after the first connection that uses it
  const secrets: { name: string; secret: ImportedSecret }[] = [];
  const secretOf = new Map<ImportedConnection, string>();
  for (const c of r.connections) {
    const same = secrets.find((s) => sameSecret(s.secret, c.secret));
    if (same !== undefined) secretOf.set(c, same.name);
    else {
      const name = `${c.name}-${c.secret.kind === 'psk' ? 'psk' : 'cert'}`;
      secrets.push({ name, secret: c.secret });
      secretOf.set(c, name);
    }
  }
  if (secrets.length === 0) L.push('secrets: {}');
  else {
    L.push('secrets:');
    for (const s of secrets) {
      L.push(`  ${scalar(s.name)}:`);
      L.push(...comment(s.secret.from, '    '));
      if (s.secret.kind === 'psk') {
        L.push(`    psk: ${pskText(s.secret.psk)}`);
        // the peer has the same key: carried over so the tunnel comes up, but said out loud
        const strength = pskStrength(s.secret.psk);
        if (strength.weak) {
          L.push(...comment(`weak pre-shared key (${pskWeakness(strength)}): accepted only because of the next line; replace it on both sides with 20 or more random characters (openssl rand -base64 24) and remove the line`, '    '));
          L.push('    allow_weak_psk: true');
        }
      }
      else {
        L.push(`    cert: ${quote(s.secret.cert)}`, `    key: ${quote(s.secret.key)}`);
        if (s.secret.ca.length > 0) L.push(`    ca: [${s.secret.ca.map(quote).join(', ')}]`);
      }
    }
  }
  L.push('');
  if (r.connections.length === 0) L.push('connections: {}');
  else {
    L.push('connections:');
    r.connections.forEach((c, i) => {
      if (i > 0) L.push('');
      L.push(...connectionLines(c, secretOf.get(c)!));
    });
  }
  return L.join('\n') + '\n';
}
