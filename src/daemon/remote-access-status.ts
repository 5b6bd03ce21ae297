/**
 * What `isakmp status` shows of a remote-access ISAKMP SA: the XAUTH user, the virtual address and
 * the Mode Config attributes, by name and with their values as text (addresses as addresses,
 * networks with their prefix, texts quoted and escaped). The attributes are those a gateway sent,
 * or those a client received from its gateway (input from the network: at most
 * MAX_SHOWN_ATTRIBUTES are kept, each value as src/codec/cfg-attribute-values.ts renders it).
 * Secrets (an XAUTH password or passcode) are never among them.
 * @module
 */
import { cfgAttributeValueText, isSecretCfgAttribute } from '../codec/cfg-attribute-values.js';
import type { DataAttribute } from '../codec/types.js';
import { CfgAttr, lookupName } from '../constants/index.js';

/** Attributes kept per ISAKMP SA for `status` (a gateway may send many; what it sends is bounded by one message anyway). */
export const MAX_SHOWN_ATTRIBUTES = 64;
/** Longest value text shown (a banner can be long). */
const MAX_VALUE_TEXT = 256;

export interface RemoteAccessStatus {
  user?: string;
  virtualAddress?: string;
  /** The attribute names, each once, in the order sent. */
  attributes: string[];
  /** Each attribute name with its values as text, e.g. `{ "INTERNAL_IP4_DNS": ["10.1.0.53"] }`. */
  values: Record<string, string[]>;
}

const nameOf = (type: number): string => lookupName(CfgAttr, type) ?? `attribute ${type}`;

/** The attribute names, each once. */
export function namesOf(attrs: readonly DataAttribute[]): string[] {
  return [...new Set(attrs.map((a) => nameOf(a.type)))];
}

function valueText(a: DataAttribute): string {
  const t = cfgAttributeValueText(a);
  if (t !== undefined) return t.length > MAX_VALUE_TEXT ? `${t.slice(0, MAX_VALUE_TEXT)}…` : t;
  if (a.format === 'TV') return String(a.value);
  return `0x${Buffer.from(a.value.subarray(0, MAX_VALUE_TEXT / 2)).toString('hex')}${a.value.length > MAX_VALUE_TEXT / 2 ? '…' : ''}`;
}

/** Each attribute's values as text; secrets left out. */
export function valuesOf(attrs: readonly DataAttribute[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of attrs) {
    if (isSecretCfgAttribute(a.type)) continue;
    (out[nameOf(a.type)] ??= []).push(valueText(a));
  }
  return out;
}

/** The client's virtual address among the attributes: INTERNAL_IP4_ADDRESS, else INTERNAL_IP6_ADDRESS (without its prefix). */
export function virtualAddressText(attrs: readonly DataAttribute[]): string | undefined {
  const v4 = attrs.find((x) => x.type === CfgAttr.INTERNAL_IP4_ADDRESS && x.format === 'TLV' && x.value.length === 4);
  if (v4 !== undefined) return cfgAttributeValueText(v4);
  const v6 = attrs.find((x) => x.type === CfgAttr.INTERNAL_IP6_ADDRESS && x.format === 'TLV' && (x.value.length === 16 || x.value.length === 17));
  if (v6 === undefined || v6.format !== 'TLV') return undefined;
  return cfgAttributeValueText({ format: 'TLV', type: v6.type, value: v6.value.subarray(0, 16) });
}
