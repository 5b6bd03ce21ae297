/**
 * RFC 5280 §4.2.1.10 name constraints: whether the names of a certificate (its subjectAltNames,
 * its subject DN and the emailAddress attributes in it) lie within a CA's permitted subtrees and
 * outside its excluded ones. Forms handled: dNSName, rfc822Name, iPAddress, directoryName and
 * uniformResourceIdentifier (by host). A constraint on any other form, met by a name of that
 * form, cannot be checked and refuses the certificate, as RFC 5280 requires.
 * @module
 */
import type { GeneralName, NameConstraints } from './cert-ext.js';
import { dnWithin, parseName } from './dn.js';

/** The names a certificate is constrained on. */
export interface ConstrainedNames {
  readonly altNames: readonly GeneralName[];
  /** The subject DN (omitted when empty). */
  readonly subject?: Uint8Array;
  /** emailAddress attributes of the subject, treated as rfc822Name. */
  readonly subjectEmails: readonly string[];
}

function dnsWithin(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase().replace(/\.$/, '');
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c) && n.length > c.length;
  return n === c || n.endsWith('.' + c);
}

function emailWithin(name: string, constraint: string): boolean {
  const at = name.lastIndexOf('@');
  if (at <= 0) return false;
  const host = name.slice(at + 1).toLowerCase();
  const c = constraint.toLowerCase();
  if (c.includes('@')) return name.toLowerCase() === c;
  if (c.startsWith('.')) return host.endsWith(c) && host.length > c.length;
  return host === c;
}

/** The host of a URI with an authority (`scheme://[user@]host[:port]...`), or undefined. */
function uriHost(uri: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)/.exec(uri);
  return m === null || m[1] === '' ? undefined : m[1]!.toLowerCase();
}

function ipWithin(addr: Uint8Array, constraint: Uint8Array): boolean {
  const n = addr.length;
  if (constraint.length !== 2 * n) return false;
  for (let i = 0; i < n; i++) if ((addr[i]! & constraint[n + i]!) !== (constraint[i]! & constraint[n + i]!)) return false;
  return true;
}

type Form = string;

function formOf(g: GeneralName): Form {
  return g.kind === 'other' ? `other-${g.tag}` : g.kind;
}

/** Does `name` lie within the subtree `base` (both of the same form)? undefined: cannot tell. */
function within(name: GeneralName, base: GeneralName): boolean | undefined {
  switch (name.kind) {
    case 'dns':
      return base.kind === 'dns' ? dnsWithin(name.value, base.value) : undefined;
    case 'email':
      return base.kind === 'email' ? emailWithin(name.value, base.value) : undefined;
    case 'ip':
      return base.kind === 'ip' ? ipWithin(name.bytes, base.bytes) : undefined;
    case 'uri': {
      if (base.kind !== 'uri') return undefined;
      const host = uriHost(name.value);
      return host === undefined ? false : dnsWithin(host, base.value);
    }
    case 'dn': {
      if (base.kind !== 'dn') return undefined;
      const n = parseName(name.der);
      const b = parseName(base.der);
      return n === undefined || b === undefined ? undefined : dnWithin(n, b);
    }
    case 'other':
      return undefined;
  }
}

function show(g: GeneralName): string {
  switch (g.kind) {
    case 'dns':
      return `DNS:${g.value}`;
    case 'email':
      return `email:${g.value}`;
    case 'uri':
      return `URI:${g.value}`;
    case 'ip':
      return `IP:${g.bytes.length === 4 ? Array.from(g.bytes).join('.') : Buffer.from(g.bytes).toString('hex')}`;
    case 'dn':
      return 'the subject DN';
    case 'other':
      return `a name of form [${g.tag}]`;
  }
}

/**
 * The first name of `names` that violates `nc`, as a reason, or undefined when all comply. A
 * name must match one permitted subtree of its form (when the CA lists any of that form) and no
 * excluded subtree.
 */
export function nameConstraintViolation(nc: NameConstraints, names: ConstrainedNames): string | undefined {
  const all: GeneralName[] = [...names.altNames, ...names.subjectEmails.map((value): GeneralName => ({ kind: 'email', value }))];
  if (names.subject !== undefined) all.push({ kind: 'dn', der: names.subject });
  for (const n of all) {
    const form = formOf(n);
    const permitted = nc.permitted.filter((g) => formOf(g) === form);
    const excluded = nc.excluded.filter((g) => formOf(g) === form);
    for (const e of excluded) {
      const w = within(n, e);
      if (w === undefined) return `${show(n)} cannot be checked against the CA's name constraints`;
      if (w) return `${show(n)} is in a subtree the CA's name constraints exclude`;
    }
    if (permitted.length > 0) {
      let ok = false;
      for (const p of permitted) {
        const w = within(n, p);
        if (w === undefined) return `${show(n)} cannot be checked against the CA's name constraints`;
        if (w) ok = true;
      }
      if (!ok) return `${show(n)} is outside the subtrees the CA's name constraints permit`;
    }
  }
  return undefined;
}
