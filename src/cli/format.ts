/**
 * Presentation of decoded ISAKMP messages: a `tshark -V`-like indented tree with RFC names, and a
 * JSON-ready object (bytes as lower-case hex). Pure functions over codec records.
 * @module
 */
import {
  AhTransformId, AuthAlgorithm, AuthMethod, CertEncoding, CfgAttr, CfgType, Doi, EncapsulationMode, EncryptionAlgorithm,
  EspTransformId, ExchangeType, GroupDescription, GroupType, HashAlgorithm, IdType, IkeAttr, IpcompTransformId,
  IpsecAttr, IsakmpTransformId, LifeType, NotifyType, PayloadType, ProtocolId, SaLifeType, XauthType, lookupName,
  nameOf, type NumberTable,
} from '../constants/index.js';
import {
  EcnTunnel, ExtendedSequenceNumber, attrValueAsNumber, decodeIdentification, encodePayloadBody, payloadTypeOf,
  verify, type DataAttribute, type Message, type Payload, type Proposal,
} from '../codec/index.js';
import { IsakmpError } from '../errors.js';
import { escapeText } from '../text-escape.js';
import { toHex } from '../crypto/bytes.js';
import { cfgAttributeValueText, isSecretCfgAttribute } from '../codec/cfg-attribute-values.js';
import { vendorIdText } from './vendor-ids.js';


/** RFC short names used as `type` in JSON (and in the tree after the long name). */
export const PAYLOAD_SHORT: Readonly<Record<number, string>> = {
  1: 'SA', 2: 'P', 3: 'T', 4: 'KE', 5: 'ID', 6: 'CERT', 7: 'CR', 8: 'HASH', 9: 'SIG', 10: 'NONCE', 11: 'N', 12: 'D',
  13: 'VID', 14: 'ATTR', 15: 'SAK', 20: 'NAT-D', 21: 'NAT-OA', 130: 'NAT-D', 131: 'NAT-OA', 132: 'FRAG',
};
const PAYLOAD_LONG: Readonly<Record<number, string>> = {
  0: 'NONE', 1: 'Security Association', 2: 'Proposal', 3: 'Transform', 4: 'Key Exchange', 5: 'Identification',
  6: 'Certificate', 7: 'Certificate Request', 8: 'Hash', 9: 'Signature', 10: 'Nonce', 11: 'Notification', 12: 'Delete',
  13: 'Vendor ID', 14: 'Attribute', 15: 'SA KEK (GDOI)', 20: 'NAT-D (RFC 3947)', 21: 'NAT-OA (RFC 3947)',
  130: 'NAT-D (draft)', 131: 'NAT-OA (draft)', 132: 'IKE Fragment',
};

export function payloadName(t: number): string {
  return `${PAYLOAD_LONG[t] ?? 'Unknown'} (${t})`;
}

const named = (table: NumberTable, v: number): string => `${nameOf(table, v)} (${v})`;

function transformTable(protocol: number): NumberTable {
  switch (protocol) {
    case ProtocolId.PROTO_ISAKMP: return IsakmpTransformId;
    case ProtocolId.PROTO_IPSEC_AH: return AhTransformId;
    case ProtocolId.PROTO_IPSEC_ESP: return EspTransformId;
    case ProtocolId.PROTO_IPCOMP: return IpcompTransformId;
    default: return {};
  }
}

const IKE_VALUES: Readonly<Record<number, NumberTable>> = {
  [IkeAttr.ENCRYPTION_ALGORITHM]: EncryptionAlgorithm, [IkeAttr.HASH_ALGORITHM]: HashAlgorithm,
  [IkeAttr.AUTHENTICATION_METHOD]: AuthMethod, [IkeAttr.GROUP_DESCRIPTION]: GroupDescription,
  [IkeAttr.GROUP_TYPE]: GroupType, [IkeAttr.LIFE_TYPE]: LifeType,
};
const IPSEC_VALUES: Readonly<Record<number, NumberTable>> = {
  [IpsecAttr.SA_LIFE_TYPE]: SaLifeType, [IpsecAttr.GROUP_DESCRIPTION]: GroupDescription,
  [IpsecAttr.ENCAPSULATION_MODE]: EncapsulationMode, [IpsecAttr.AUTHENTICATION_ALGORITHM]: AuthAlgorithm,
  [IpsecAttr.ECN_TUNNEL]: EcnTunnel, [IpsecAttr.EXTENDED_SEQUENCE_NUMBER]: ExtendedSequenceNumber,
};
const CFG_VALUES: Readonly<Record<number, NumberTable>> = { [CfgAttr.XAUTH_TYPE]: XauthType };

interface AttrContext { readonly classes: NumberTable; readonly values: Readonly<Record<number, NumberTable>> }
const IKE_CTX: AttrContext = { classes: IkeAttr, values: IKE_VALUES };
const IPSEC_CTX: AttrContext = { classes: IpsecAttr, values: IPSEC_VALUES };
const CFG_CTX: AttrContext = { classes: CfgAttr, values: CFG_VALUES };

function attrJson(a: DataAttribute, ctx: AttrContext): Record<string, unknown> {
  const o: Record<string, unknown> = { type: a.type, name: lookupName(ctx.classes, a.type) ?? null, format: a.format };
  if (ctx === CFG_CTX) {
    const t = cfgAttributeValueText(a);
    if (t !== undefined) o.valueText = t;
  }
  if (a.format === 'TV') {
    o.value = a.value;
    const t = ctx.values[a.type];
    if (t !== undefined) o.valueName = lookupName(t, a.value) ?? null;
  } else {
    o.length = a.value.length;
    o.value = ctx === CFG_CTX && isSecretCfgAttribute(a.type) ? null : toHex(a.value);
    const n = attrValueAsNumber(a);
    if (n !== undefined && a.value.length <= 8) o.number = n;
  }
  return o;
}

function proposalJson(p: Proposal): Record<string, unknown> {
  const ctx = p.protocol === ProtocolId.PROTO_ISAKMP ? IKE_CTX : IPSEC_CTX;
  const tt = transformTable(p.protocol);
  const o: Record<string, unknown> = {
    number: p.number, protocol: p.protocol, protocolName: lookupName(ProtocolId, p.protocol) ?? null,
    spiSize: p.spi.length, spi: toHex(p.spi),
    transforms: p.transforms.map((t) => {
      const to: Record<string, unknown> = { number: t.number, id: t.id, idName: lookupName(tt, t.id) ?? null };
      if (t.reserved !== undefined) to.reserved = t.reserved;
      if (t.reserved2 !== undefined) to.reserved2 = t.reserved2;
      to.attributes = t.attributes.map((a) => attrJson(a, ctx));
      return to;
    }),
  };
  if (p.reserved !== undefined) o.reserved = p.reserved;
  return o;
}

function identificationJson(idType: number, data: Uint8Array): unknown {
  try {
    const v = decodeIdentification(idType, data) as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = x instanceof Uint8Array ? toHex(x) : x;
    return o;
  } catch (e) {
    return { error: e instanceof IsakmpError ? e.message : 'undecodable' };
  }
}

export function payloadJson(p: Payload): Record<string, unknown> {
  const t = payloadTypeOf(p);
  const o: Record<string, unknown> = { type: PAYLOAD_SHORT[t] ?? 'UNKNOWN', payloadType: t, length: 4 + encodePayloadBody(p).length };
  if (p.reserved !== undefined) o.reserved = p.reserved;
  switch (p.type) {
    case 'SA':
      o.doi = p.doi; o.doiName = lookupName(Doi, p.doi) ?? null;
      if (p.raw !== undefined) { o.raw = toHex(p.raw); break; }
      o.situation = p.situation;
      if (p.labeledDomain !== undefined) {
        const l = p.labeledDomain;
        o.labeledDomain = {
          labeledDomainIdentifier: l.labeledDomainIdentifier, secrecyLevel: toHex(l.secrecyLevel),
          secrecyCategories: toHex(l.secrecyCategories), integrityLevel: toHex(l.integrityLevel), integrityCategories: toHex(l.integrityCategories),
        };
      }
      o.proposals = p.proposals.map(proposalJson);
      break;
    case 'KE': case 'HASH': case 'SIG': case 'NONCE':
      o.dataLength = p.data.length; o.data = toHex(p.data); break;
    case 'VID':
      o.dataLength = p.data.length; o.data = toHex(p.data); o.vendor = vendorIdText(p.data) ?? null; break;
    case 'ID':
      o.idType = p.idType; o.idTypeName = lookupName(IdType, p.idType) ?? null; o.protocol = p.protocol; o.port = p.port;
      o.data = toHex(p.data); o.identification = identificationJson(p.idType, p.data); break;
    case 'CERT':
      o.encoding = p.encoding; o.encodingName = lookupName(CertEncoding, p.encoding) ?? null; o.data = toHex(p.data); break;
    case 'CR':
      o.certType = p.certType; o.certTypeName = lookupName(CertEncoding, p.certType) ?? null; o.authority = toHex(p.authority); break;
    case 'N':
      o.doi = p.doi; o.protocol = p.protocol; o.protocolName = lookupName(ProtocolId, p.protocol) ?? null;
      o.spiSize = p.spi.length; o.notifyType = p.notifyType; o.notifyName = lookupName(NotifyType, p.notifyType) ?? null;
      o.spi = toHex(p.spi); o.data = toHex(p.data); break;
    case 'D':
      o.doi = p.doi; o.protocol = p.protocol; o.protocolName = lookupName(ProtocolId, p.protocol) ?? null;
      o.spiSize = p.spiSize; o.spiCount = p.spis.length; o.spis = p.spis.map(toHex); break;
    case 'ATTR':
      o.cfgType = p.cfgType; o.cfgTypeName = lookupName(CfgType, p.cfgType) ?? null; o.identifier = p.identifier;
      if (p.reserved2 !== undefined) o.reserved2 = p.reserved2;
      o.attributes = p.attributes.map((a) => attrJson(a, CFG_CTX)); break;
    case 'NAT-D':
      o.hash = toHex(p.hash); break;
    case 'NAT-OA':
      o.idType = p.idType; o.idTypeName = lookupName(IdType, p.idType) ?? null; o.address = toHex(p.address);
      if (p.reserved2 !== undefined) o.reserved2 = p.reserved2;
      o.identification = identificationJson(p.idType, p.address); break;
    case 'FRAG':
      o.fragmentId = p.fragmentId; o.fragmentNumber = p.fragmentNumber; o.flags = p.flags; o.last = (p.flags & 1) === 1;
      o.data = toHex(p.data); break;
    case 'UNKNOWN':
      o.body = toHex(p.body); break;
  }
  return o;
}

/** The JSON object for one message: header fields and `payloads` (or `encrypted`). */
export function messageJson(m: Message, length: number): Record<string, unknown> {
  const h = m.header;
  const o: Record<string, unknown> = {
    initiatorCookie: toHex(h.initiatorCookie), responderCookie: toHex(h.responderCookie),
    nextPayload: h.nextPayload, nextPayloadName: PAYLOAD_SHORT[h.nextPayload] ?? (h.nextPayload === 0 ? 'NONE' : 'UNKNOWN'),
    majorVersion: h.majorVersion, minorVersion: h.minorVersion,
    exchangeType: h.exchangeType, exchangeTypeName: lookupName(ExchangeType, h.exchangeType) ?? null,
    flags: h.flags, encryptionFlag: (h.flags & 1) !== 0, commitFlag: (h.flags & 2) !== 0, authenticationOnlyFlag: (h.flags & 4) !== 0,
    messageId: h.messageId, length,
  };
  if (m.encrypted !== undefined) o.encrypted = { length: m.encrypted.length, decrypted: m.payloads.length > 0 };
  o.payloads = m.payloads.map(payloadJson);
  if (m.trailing !== undefined) o.trailing = { length: m.trailing.length, data: toHex(m.trailing) };
  const findings = verify(m);
  if (findings.length > 0) o.warnings = findings;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Tree

function attrLine(a: DataAttribute, ctx: AttrContext): string {
  const cls = `${lookupName(ctx.classes, a.type) ?? 'UNKNOWN'} (${a.type})`;
  const text = ctx === CFG_CTX ? cfgAttributeValueText(a) : undefined;
  if (text !== undefined) {
    return a.format === 'TV' ? `Attribute (TV) ${cls}: ${text} (${a.value})` : `Attribute (TLV, length ${a.value.length}) ${cls}: ${text}`;
  }
  if (a.format === 'TV') {
    const t = ctx.values[a.type];
    return `Attribute (TV) ${cls}: ${t !== undefined ? named(t, a.value) : String(a.value)}`;
  }
  const n = attrValueAsNumber(a);
  return `Attribute (TLV, length ${a.value.length}) ${cls}: ${n !== undefined && a.value.length <= 8 ? `${n} (0x${toHex(a.value)})` : toHex(a.value)}`;
}

const MAX_HEX = 64;
const shortHex = (b: Uint8Array): string => (b.length > MAX_HEX ? `${toHex(b.subarray(0, MAX_HEX))}…` : toHex(b));

/** The indented tree of one message. */
export function messageTree(m: Message, length: number): string[] {
  const h = m.header;
  const L: string[] = [];
  // identification data is the peer's text: every line escaped (issue 9.9)
  const put = (depth: number, s: string): void => { L.push(`${'    '.repeat(depth)}${escapeText(s)}`); };
  put(0, 'Internet Security Association and Key Management Protocol');
  put(1, `Initiator cookie: ${toHex(h.initiatorCookie)}`);
  put(1, `Responder cookie: ${toHex(h.responderCookie)}`);
  put(1, `Next payload: ${payloadName(h.nextPayload)}`);
  put(1, `Version: ${h.majorVersion}.${h.minorVersion}`);
  put(1, `Exchange type: ${named(ExchangeType, h.exchangeType)}`);
  put(1, `Flags: 0x${h.flags.toString(16).padStart(2, '0')}`);
  put(2, `.... ...${h.flags & 1} = Encryption: ${h.flags & 1 ? 'Encrypted' : 'Not encrypted'}`);
  put(2, `.... ..${(h.flags >> 1) & 1}. = Commit: ${h.flags & 2 ? 'Commit' : 'No commit'}`);
  put(2, `.... .${(h.flags >> 2) & 1}.. = Authentication only: ${h.flags & 4 ? 'Yes' : 'No'}`);
  put(1, `Message ID: 0x${h.messageId.toString(16).padStart(8, '0')}`);
  put(1, `Length: ${length}`);
  if (m.encrypted !== undefined) {
    put(1, `Encrypted payloads: ${m.encrypted.length} bytes (first payload ${payloadName(h.nextPayload)})${m.payloads.length ? ', decrypted with the key log:' : ''}`);
  }
  for (const p of m.payloads) payloadTree(p, 1, put);
  if (m.trailing !== undefined) put(1, `Extra data after the last payload (${m.trailing.length} bytes): ${shortHex(m.trailing)}`);
  for (const f of verify(m)) put(1, `Warning: ${f}`);
  return L;
}

function payloadTree(p: Payload, d: number, put: (depth: number, s: string) => void): void {
  const t = payloadTypeOf(p);
  const len = 4 + encodePayloadBody(p).length;
  put(d, `Payload: ${payloadName(t)} [${PAYLOAD_SHORT[t] ?? 'UNKNOWN'}], length ${len}${p.reserved !== undefined ? `, RESERVED ${p.reserved}` : ''}`);
  const e = d + 1;
  switch (p.type) {
    case 'SA':
      put(e, `Domain of interpretation: ${named(Doi, p.doi)}`);
      if (p.raw !== undefined) { put(e, `Body (DOI-specific, not decoded): ${shortHex(p.raw)}`); break; }
      put(e, `Situation: 0x${p.situation.toString(16).padStart(8, '0')}${p.situation & 1 ? ' (SIT_IDENTITY_ONLY)' : ''}`);
      if (p.labeledDomain !== undefined) put(e, `Labeled domain identifier: ${p.labeledDomain.labeledDomainIdentifier}`);
      for (const pr of p.proposals) {
        put(e, `Payload: Proposal (2) # ${pr.number}`);
        put(e + 1, `Protocol ID: ${named(ProtocolId, pr.protocol)}`);
        put(e + 1, `SPI size: ${pr.spi.length}${pr.spi.length ? `, SPI: ${toHex(pr.spi)}` : ''}`);
        put(e + 1, `Proposal transforms: ${pr.transforms.length}`);
        const ctx = pr.protocol === ProtocolId.PROTO_ISAKMP ? IKE_CTX : IPSEC_CTX;
        for (const tr of pr.transforms) {
          put(e + 1, `Payload: Transform (3) # ${tr.number}${tr.reserved2 !== undefined ? `, RESERVED2 ${tr.reserved2}` : ''}`);
          put(e + 2, `Transform ID: ${named(transformTable(pr.protocol), tr.id)}`);
          for (const a of tr.attributes) put(e + 2, attrLine(a, ctx));
        }
      }
      break;
    case 'KE': case 'HASH': case 'SIG': case 'NONCE':
      put(e, `Data (${p.data.length} bytes): ${shortHex(p.data)}`); break;
    case 'VID':
      put(e, `Vendor ID: ${vendorIdText(p.data) ?? 'unknown'}`);
      put(e, `Data (${p.data.length} bytes): ${shortHex(p.data)}`); break;
    case 'ID': {
      put(e, `ID type: ${named(IdType, p.idType)}`);
      put(e, `Protocol ID: ${p.protocol}, port: ${p.port}`);
      const v = identificationJson(p.idType, p.data) as Record<string, unknown>;
      put(e, `Identification data: ${Object.entries(v).filter(([k]) => k !== 'kind').map(([k, x]) => `${k}=${String(x)}`).join(' ')}`);
      break;
    }
    case 'CERT':
      put(e, `Certificate encoding: ${named(CertEncoding, p.encoding)}`);
      put(e, `Certificate data (${p.data.length} bytes): ${shortHex(p.data)}`); break;
    case 'CR':
      put(e, `Certificate type: ${named(CertEncoding, p.certType)}`);
      put(e, `Certificate authority (${p.authority.length} bytes): ${shortHex(p.authority)}`); break;
    case 'N':
      put(e, `Domain of interpretation: ${named(Doi, p.doi)}`);
      put(e, `Protocol ID: ${named(ProtocolId, p.protocol)}`);
      put(e, `SPI size: ${p.spi.length}${p.spi.length ? `, SPI: ${toHex(p.spi)}` : ''}`);
      put(e, `Notify message type: ${named(NotifyType, p.notifyType)}`);
      if (p.data.length) put(e, `Notification data (${p.data.length} bytes): ${shortHex(p.data)}`);
      break;
    case 'D':
      put(e, `Domain of interpretation: ${named(Doi, p.doi)}`);
      put(e, `Protocol ID: ${named(ProtocolId, p.protocol)}`);
      put(e, `SPI size: ${p.spiSize}, number of SPIs: ${p.spis.length}`);
      for (const s of p.spis) put(e + 1, `SPI: ${toHex(s)}`);
      break;
    case 'ATTR':
      put(e, `Type: ${named(CfgType, p.cfgType)}, identifier: ${p.identifier}`);
      for (const a of p.attributes) put(e, attrLine(a, CFG_CTX));
      break;
    case 'NAT-D':
      put(e, `HASH of the address and port: ${toHex(p.hash)}`); break;
    case 'NAT-OA': {
      put(e, `ID type: ${named(IdType, p.idType)}`);
      const v = identificationJson(p.idType, p.address) as Record<string, unknown>;
      put(e, `Original address: ${String(v.address ?? toHex(p.address))}`);
      break;
    }
    case 'FRAG':
      put(e, `Fragment ID: ${p.fragmentId}, number: ${p.fragmentNumber}, flags: 0x${p.flags.toString(16)}${p.flags & 1 ? ' (LAST)' : ''}`);
      put(e, `Fragment data (${p.data.length} bytes): ${shortHex(p.data)}`); break;
    case 'UNKNOWN':
      put(e, `Body (${p.body.length} bytes, not decoded): ${shortHex(p.body)}`); break;
  }
}

/** One line for a message that did not decode: notify name, offset, reason. */
export function errorLine(e: IsakmpError): string {
  return escapeText(`malformed ISAKMP message: ${e.notifyName} (${e.notify}) at offset ${e.offset ?? '?'}: ${e.reason}`);
}

export { PayloadType };
