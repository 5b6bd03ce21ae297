/**
 * Which IPsec SA owns each kernel policy. The kernel keeps one policy per selector and direction,
 * and finds it by those alone when asked to delete it. A rekey installs the new SA's policies over
 * the old SA's (the same selectors, the new reqid), so the old SA, when it goes, must not delete
 * them: that would leave the new SA without policies and the traffic it protects in the clear.
 *
 * Each policy key (direction and whole selector) holds the SAs that set it, oldest first; the
 * newest is the one in the kernel. When an SA goes: a key it alone held is deleted; a key it held
 * in the kernel with older holders left is set back to the newest of them; a key a newer SA holds
 * is left alone.
 * @module
 */
import type { XfrmOp } from './kernel.js';
import type { XfrmPolicy, XfrmSelector } from './xfrm-messages.js';
import { canonicalAddress } from './addresses.js';

const keyOf = (dir: string, s: XfrmSelector): string =>
  `${dir}|${canonicalAddress(s.src)}/${s.srcPrefix}|${canonicalAddress(s.dst)}/${s.dstPrefix}|${s.proto}|${s.sport}|${s.dport}`;

export class PolicyOwners {
  /** Policy key → the SAs that set it, in install order, each with its policy. */
  private readonly holders = new Map<string, { id: string; policy: XfrmPolicy }[]>();

  /** `id` set these policies in the kernel (after its install succeeded). */
  claim(id: string, policies: readonly XfrmPolicy[]): void {
    for (const policy of policies) {
      const k = keyOf(policy.dir, policy.sel);
      const list = this.holders.get(k);
      if (list === undefined) this.holders.set(k, [{ id, policy }]);
      else list.push({ id, policy });
    }
  }

  /**
   * `id` goes: the kernel operations for its policies (delete, set back to an older holder's, or
   * nothing), given the policies it set. Also right for an install rolled back before `claim`.
   */
  release(id: string, policies: readonly { sel: XfrmSelector; dir: XfrmPolicy['dir'] }[]): XfrmOp[] {
    const ops: XfrmOp[] = [];
    for (const p of policies) {
      const k = keyOf(p.dir, p.sel);
      const list = this.holders.get(k) ?? [];
      const at = list.findIndex((h) => h.id === id);
      const wasCurrent = at < 0 ? true : at === list.length - 1; // not claimed (a rollback): it was just set
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) {
        this.holders.delete(k);
        ops.push({ op: 'del-policy', sel: p.sel, dir: p.dir });
      } else if (wasCurrent) {
        ops.push({ op: 'set-policy', policy: list[list.length - 1]!.policy });
      }
    }
    return ops;
  }

  /** Policy keys held (for tests). */
  get size(): number {
    return this.holders.size;
  }
}
