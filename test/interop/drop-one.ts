/**
 * One IKE datagram lost on the lab's link, chosen by the shape of its ISAKMP header. This lab
 * kernel has no netfilter and no tc actions, so the loss is made with queueing alone: an htb root
 * qdisc on the sender's veth0 whose class 1:2 feeds a `pfifo limit 0` (a queue that holds
 * nothing: every datagram sent to it is dropped and counted), and one u32 filter that steers the
 * chosen datagrams into it. A watcher in the namespace removes the filter as soon as the counter
 * reads one drop, so the sender's retransmission of the same message passes.
 *
 * Offsets: IPv4 without options (20 bytes) + UDP (8): the ISAKMP header starts at 28, its next
 * payload at 44, exchange type at 46, flags at 47 (bit 0: encrypted).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** The datagram to lose: the first one the namespace sends to UDP 500 that matches. */
export interface LossMatch {
  /** ISAKMP exchange type: 2 Main Mode, 4 Aggressive, 5 Informational, 32 Quick Mode. */
  exchange: number;
  encrypted: boolean;
  /** The header's next payload (1 SA, 4 KE, 8 HASH): tells MM1/MM2 from MM3/MM4. */
  firstPayload?: number;
  /**
   * The IP total length under a mask (u32 matches bits, not ranges): `{ value: 0, mask: 0xff80 }`
   * is any datagram under 128 bytes (a Quick Mode message 3 is HASH(3) alone), `{ value: 0x80,
   * mask: 0xffc0 }` one of 128 to 191 bytes.
   */
  ipLength?: { value: number; mask: number };
}

/** One loss rule on `ns`'s veth0 at a time. */
export class DropOne {
  private watcher: ChildProcess | undefined;
  constructor(readonly ns: string) {}

  private tc(...args: string[]): string {
    const r = spawnSync('ip', ['netns', 'exec', this.ns, 'tc', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tc ${args.join(' ')} in ${this.ns}: ${r.stderr}`);
    return r.stdout;
  }

  /** Installs the rule; the first matching datagram is dropped, then the rule goes. */
  arm(m: LossMatch): void {
    this.clear();
    this.tc('qdisc', 'add', 'dev', 'veth0', 'root', 'handle', '1:', 'htb', 'default', '1');
    this.tc('class', 'add', 'dev', 'veth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '1gbit');
    this.tc('class', 'add', 'dev', 'veth0', 'parent', '1:', 'classid', '1:2', 'htb', 'rate', '1gbit');
    this.tc('qdisc', 'add', 'dev', 'veth0', 'parent', '1:2', 'handle', '20:', 'pfifo', 'limit', '0');
    const sel = ['match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', '500', '0xffff'];
    sel.push('match', 'u8', String(m.exchange), '0xff', 'at', '46');
    sel.push('match', 'u8', m.encrypted ? '1' : '0', '0x01', 'at', '47');
    if (m.firstPayload !== undefined) sel.push('match', 'u8', String(m.firstPayload), '0xff', 'at', '44');
    if (m.ipLength) sel.push('match', 'u16', String(m.ipLength.value), `0x${m.ipLength.mask.toString(16)}`, 'at', '2');
    this.tc('filter', 'add', 'dev', 'veth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', ...sel, 'flowid', '1:2');
    const watch = `until tc -s qdisc show dev veth0 | grep -A1 'pfifo 20:' | grep -q 'dropped [1-9]'; do sleep 0.01; done; tc filter del dev veth0 parent 1: prio 1`;
    this.watcher = spawn('ip', ['netns', 'exec', this.ns, 'sh', '-c', watch], { stdio: 'ignore' });
  }

  /** Datagrams dropped since `arm` (-1: no rule armed). */
  dropped(): number {
    const m = /qdisc pfifo 20:[^\n]*\n[^\n]*dropped (\d+)/.exec(this.tc('-s', 'qdisc', 'show', 'dev', 'veth0'));
    return m ? Number(m[1]) : -1;
  }

  /** The rule and its watcher gone (the link as before). */
  clear(): void {
    if (this.watcher && this.watcher.exitCode === null && this.watcher.signalCode === null && this.watcher.pid !== undefined) this.watcher.kill('SIGTERM');
    this.watcher = undefined;
    spawnSync('ip', ['netns', 'exec', this.ns, 'tc', 'qdisc', 'del', 'dev', 'veth0', 'root'], { encoding: 'utf8' });
  }
}
