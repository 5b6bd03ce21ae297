/**
 * The little DER the configuration needs: encode a distinguished name written as text
 * (`C=CH, O=org, CN=name`) for an ID_DER_ASN1_DN identity, and pull the subject Name out of an
 * X.509 certificate (our own identity, sent byte for byte as the certificate has it). A DN
 * written here is PrintableString where it can be, so it rarely equals a certificate's DER byte
 * for byte: DNs are compared by RFC 5280 §7.1 (dnEqual, src/crypto/dn.ts), never as bytes.
 */
import { children, readTlv } from '../crypto/asn1.js';

const ATTRS: Readonly<Record<string, { oid: number[]; ia5?: boolean }>> = {
  C: { oid: [2, 5, 4, 6] },
  ST: { oid: [2, 5, 4, 8] },
  L: { oid: [2, 5, 4, 7] },
  O: { oid: [2, 5, 4, 10] },
  OU: { oid: [2, 5, 4, 11] },
  CN: { oid: [2, 5, 4, 3] },
  SN: { oid: [2, 5, 4, 5] },
  DC: { oid: [0, 9, 2342, 19200300, 100, 1, 25], ia5: true },
  E: { oid: [1, 2, 840, 113549, 1, 9, 1], ia5: true },
  EMAILADDRESS: { oid: [1, 2, 840, 113549, 1, 9, 1], ia5: true },
};

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else if (n < 0x100) len = [0x81, n];
  else if (n < 0x10000) len = [0x82, n >> 8, n & 0xff];
  else len = [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function oidBytes(oid: readonly number[]): Uint8Array {
  const out: number[] = [(oid[0] as number) * 40 + (oid[1] as number)];
  for (const arc of oid.slice(2)) {
    const b: number[] = [arc & 0x7f];
    let v = Math.floor(arc / 128);
    while (v > 0) {
      b.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Encodes `C=CH, O=org, CN=name` as a DER Name (RDNSequence), in the order written. */
export function encodeDn(text: string): { ok: true; value: Uint8Array } | { ok: false; error: string } {
  // Split on commas not escaped with a backslash.
  const parts = text.split(/(?<!\\),/).map((p) => p.trim()).filter((p) => p.length > 0);
  const rdns: Uint8Array[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, error: `'${part}' in DN '${text}' is not KEY=VALUE` };
    const key = part.slice(0, eq).trim().toUpperCase();
    const value = part.slice(eq + 1).trim().replace(/\\,/g, ',');
    const attr = ATTRS[key];
    if (attr === undefined) {
      return { ok: false, error: `unknown DN attribute '${key}' in '${text}' (use ${Object.keys(ATTRS).join(', ')})` };
    }
    const bytes = new TextEncoder().encode(value);
    const tag = attr.ia5 === true ? 0x16 : PRINTABLE.test(value) ? 0x13 : 0x0c;
    rdns.push(tlv(0x31, tlv(0x30, concat([oidBytes(attr.oid), tlv(tag, bytes)]))));
  }
  if (rdns.length === 0) return { ok: false, error: `empty DN '${text}'` };
  return { ok: true, value: tlv(0x30, concat(rdns)) };
}

/**
 * The DER bytes of a certificate's subject Name (TBSCertificate field 6), read with the crypto
 * layer's bounded DER reader. Throws an Error naming the DER when the certificate is malformed.
 */
export function certSubjectDer(certDer: Uint8Array): Uint8Array {
  const cert = readTlv(certDer, 0, certDer.length);
  const tbs = cert === undefined ? undefined : readTlv(certDer, cert.body, cert.end);
  const fields = tbs === undefined || tbs.tag !== 0x30 ? undefined : children(certDer, tbs, 12);
  const base = fields?.[0]?.tag === 0xa0 ? 1 : 0; // explicit version
  const subject = fields?.[base + 4]; // serialNumber, signature, issuer, validity, then subject
  if (subject === undefined || subject.tag !== 0x30) throw new Error('malformed certificate DER: no subject Name');
  return Uint8Array.from(certDer.subarray(subject.start, subject.end)); // a copy, also for a Buffer
}
