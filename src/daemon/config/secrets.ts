/**
 * The `secrets` section: named pre-shared keys, and certificates with their private keys, the
 * intermediate CAs we send after our certificate (`cert:` file after the first certificate, and
 * `chain:` files) and trusted CAs, read and checked when the file is loaded.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { Node } from 'yaml';
import { fromHex } from '../../crypto/bytes.js';
import type { CertificateRevocationList } from '../../crypto/index.js';
import { oneLine, orderChain, readCertificates } from '../cert-files.js';
import { crlIssuerMismatch, readCrlFile } from '../crl-files.js';
import { fileErrorText } from '../file-errors.js';
import type { Secret } from './types.js';
import { pskStrength, pskWeakness } from './psk-strength.js';
import { bool, entries, resolvePath, scalarString, stringList, type Ctx } from './yaml.js';

function parsePsk(text: string): Uint8Array {
  if (/^0x([0-9a-fA-F]{2})+$/.test(text)) return fromHex(text.slice(2));
  return new TextEncoder().encode(text);
}

export function parseSecrets(ctx: Ctx, node: Node | null | undefined): Map<string, Secret> {
  const out = new Map<string, Secret>();
  const e = entries(ctx, node, 'secrets', []) ?? new Map();
  for (const [name, { value }] of e) {
    const path = `secrets.${name}`;
    const se = entries(ctx, value, path, ['psk', 'allow_weak_psk', 'cert', 'chain', 'key', 'ca', 'crls']);
    if (se === undefined) continue;
    const psk = se.get('psk');
    const allowNode = se.get('allow_weak_psk');
    if (psk !== undefined) {
      if ([...se.keys()].some((k) => k !== 'psk' && k !== 'allow_weak_psk')) ctx.error(value, path, `a secret is either psk, or cert + key (+ ca): not both`);
      const s = scalarString(ctx, psk.value, `${path}.psk`);
      const allowWeak = allowNode !== undefined ? bool(ctx, allowNode.value, `${path}.allow_weak_psk`) ?? false : false;
      if (s !== undefined) {
        if (s.length === 0) ctx.error(psk.value, `${path}.psk`, 'the pre-shared key is empty');
        else {
          const key = parsePsk(s);
          // a guessable PSK gives away every exchange made with it (offline guessing): refused unless allowed
          const strength = pskStrength(key);
          if (strength.weak && !allowWeak) {
            ctx.error(psk.value, `${path}.psk`, `weak pre-shared key: ${pskWeakness(strength)}; use 20 or more random characters (e.g. openssl rand -base64 24), or set allow_weak_psk: true on this secret to accept it`);
          }
          // kept even when refused, so that the connections using it are checked (the file is refused anyway)
          out.set(name, { kind: 'psk', name, psk: key, ...(strength.weak ? { weakness: pskWeakness(strength) } : {}) });
        }
      }
      continue;
    }
    if (allowNode !== undefined) ctx.error(allowNode.key, `${path}.allow_weak_psk`, 'applies to a psk secret only');
    const cert = se.get('cert');
    const key = se.get('key');
    const caOnly = cert === undefined && key === undefined && se.get('ca') !== undefined;
    if (!caOnly && (cert === undefined || key === undefined)) {
      ctx.error(value, path, `give either psk: SECRET, or cert: FILE and key: FILE (plus ca: FILE or a list), or ca: alone (a Hybrid client's trust anchors)`);
      continue;
    }
    const load = <T>(n: Node | null, p: string, what: string, f: (pem: Buffer) => T): { path: string; value: T } | undefined => {
      const s = scalarString(ctx, n, p);
      if (s === undefined) return undefined;
      const full = resolvePath(ctx, s);
      let buf: Buffer;
      try {
        buf = readFileSync(full);
      } catch (err) {
        ctx.error(n, p, `cannot read ${what} '${full}': ${fileErrorText(err)}`);
        return undefined;
      }
      try {
        return { path: full, value: f(buf) };
      } catch (err) {
        ctx.error(n, p, `'${full}' is not a usable ${what} (PEM or DER): ${(err as Error).message}`);
        return undefined;
      }
    };
    // our certificate first; the rest of the file, then the `chain:` files, are intermediates
    const certs = cert === undefined ? undefined : load(cert.value, `${path}.cert`, 'certificate', (b) => readCertificates(b));
    const c = certs !== undefined ? { path: certs.path, value: certs.value[0] as X509Certificate } : undefined;
    const intermediates: X509Certificate[] = certs?.value.slice(1) ?? [];
    const chainPaths: string[] = certs !== undefined && certs.value.length > 1 ? [certs.path] : [];
    const chainNode = se.get('chain');
    if (chainNode !== undefined) {
      for (const item of stringList(ctx, chainNode.value, `${path}.chain`) ?? []) {
        const r = load(item.node, `${path}.chain`, 'intermediate CA certificate', () => readCertificates(readFileSync(resolvePath(ctx, item.text))));
        if (r === undefined) continue;
        intermediates.push(...r.value);
        chainPaths.push(r.path);
      }
    }
    const k = key === undefined ? undefined : load(key.value, `${path}.key`, 'private key', (b) => createPrivateKey(b));
    const cas: { path: string; value: X509Certificate }[] = [];
    const ca = se.get('ca');
    if (ca !== undefined) {
      for (const item of stringList(ctx, ca.value, `${path}.ca`) ?? []) {
        const r = load(item.node, `${path}.ca`, 'CA certificate', () => new X509Certificate(readFileSync(resolvePath(ctx, item.text))));
        if (r !== undefined) cas.push(r);
      }
    }
    // crls: complete CRLs of the CAs (see src/daemon/crl-files.ts)
    const crlPaths: string[] = [];
    const crls: CertificateRevocationList[] = [];
    const crlNode = se.get('crls');
    if (crlNode !== undefined) {
      for (const item of stringList(ctx, crlNode.value, `${path}.crls`) ?? []) {
        const full = resolvePath(ctx, item.text);
        const r = readCrlFile(full);
        if (!r.ok) {
          ctx.error(item.node, `${path}.crls`, r.error);
          continue;
        }
        for (const crl of r.crls) {
          const bad = crlIssuerMismatch(crl, cas, full);
          if (bad !== undefined) ctx.error(item.node, `${path}.crls`, bad);
          else {
            crls.push(crl);
            crlPaths.push(full);
          }
        }
      }
    }
    if (caOnly) {
      if (cas.length > 0) out.set(name, { kind: 'ca', name, caPaths: cas.map((x) => x.path), cas: cas.map((x) => x.value), crlPaths, crls });
      continue;
    }
    if (c !== undefined && k !== undefined && key !== undefined && cert !== undefined) {
      const pub = createPublicKey(k.value).export({ type: 'spki', format: 'der' });
      const certPub = c.value.publicKey.export({ type: 'spki', format: 'der' });
      if (!pub.equals(certPub)) {
        ctx.error(key.value, `${path}.key`, `the private key does not belong to the certificate '${c.path}'`);
        continue;
      }
      if (k.value.asymmetricKeyType !== 'rsa') {
        ctx.error(key.value, `${path}.key`, `only RSA keys are supported (this one is ${k.value.asymmetricKeyType ?? 'unknown'})`);
        continue;
      }
      const ordered = orderChain(c.value, intermediates);
      if (ordered.problem !== undefined) {
        ctx.error(chainNode?.value ?? cert.value, `${path}.${chainNode !== undefined ? 'chain' : 'cert'}`, `${ordered.problem}: give the intermediate CAs between '${oneLine(c.value.subject)}' and its root, in any order`);
        continue;
      }
      out.set(name, {
        kind: 'rsa',
        name,
        certPath: c.path,
        keyPath: k.path,
        caPaths: cas.map((x) => x.path),
        cert: c.value,
        chain: ordered.chain,
        chainPaths,
        rootsInChain: ordered.roots,
        key: k.value,
        cas: cas.map((x) => x.value),
        crlPaths,
        crls,
      });
    }
  }
  return out;
}
