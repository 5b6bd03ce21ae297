/**
 * How guessable a pre-shared key is, by a simple estimate. With Main Mode and a PSK, anyone who
 * sees (or, in Aggressive Mode, asks for) one exchange can test guesses offline at the speed of
 * an HMAC: a PSK is only as good as the number of guesses it takes. The estimate is deliberately
 * plain and errs on the side of "weak":
 *
 *   text  (every byte printable ASCII): split into pieces, each costed in bits:
 *         - a common word or password (WORDS; leetspeak 0→o, 1→l, 3→e, 4→a, 5→s, 7→t, @→a, $→s
 *           undone; at least 3 letters): log2 of the list's size, plus 1 for mixed case;
 *         - a run of the same character, an ascending or descending sequence (abc, 4321) or a
 *           keyboard walk (qwerty, asdf) of 3 or more: one character's worth plus log2 of its length;
 *         - any other character: log2 of the alphabet the whole key draws from (lower case,
 *           upper case, digits, other printable characters: 26, 26, 10, 33);
 *         weak when shorter than 20 characters or under 80 bits;
 *   bytes (a 0x… key with unprintable bytes): 8 bits per byte, 1 for a byte equal to or next to
 *         the one before; weak under 80 bits.
 *
 * This is not a password cracker's model, only a floor that `cisco1`, `vpn-secret-2024` or
 * `letmein` cannot pass; a random key from `openssl rand -base64 24` always does.
 * @module
 */

/** Minimum length of a text PSK, and minimum estimated strength. */
export const MIN_PSK_CHARS = 20;
export const MIN_PSK_BITS = 80;

/**
 * Common words of passwords and of VPN configurations (vendors, protocol names, "secret", seasons,
 * names that top leaked-password lists). Lower case, at least 3 letters.
 */
const WORDS: readonly string[] = [
  'password', 'passwd', 'pass', 'word', 'secret', 'secrets', 'shared', 'share', 'key', 'keys', 'psk', 'preshared', 'private', 'public',
  'admin', 'administrator', 'root', 'user', 'guest', 'login', 'default', 'changeme', 'change', 'letmein', 'welcome', 'hello', 'test',
  'testing', 'demo', 'example', 'sample', 'temp', 'lab', 'home', 'work', 'office', 'company', 'corp', 'site', 'branch', 'remote',
  'local', 'peer', 'tunnel', 'vpn', 'ipsec', 'ike', 'isakmp', 'esp', 'gateway', 'router', 'firewall', 'server', 'client', 'network',
  'net', 'internet', 'cisco', 'juniper', 'netscreen', 'fortinet', 'fortigate', 'sonicwall', 'paloalto', 'checkpoint', 'mikrotik',
  'strongswan', 'libreswan', 'openswan', 'racoon', 'linux', 'windows', 'microsoft', 'super', 'secure', 'security', 'access', 'connect',
  'master', 'qwerty', 'dragon', 'monkey', 'shadow', 'sunshine', 'princess', 'football', 'baseball', 'soccer', 'iloveyou', 'love',
  'trustno', 'abc', 'xyz', 'letme', 'mypass', 'summer', 'winter', 'spring', 'autumn', 'fall', 'january', 'february', 'march', 'april',
  'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december', 'monday', 'tuesday', 'wednesday', 'thursday',
  'friday', 'saturday', 'sunday', 'long', 'random', 'string', 'strong', 'very', 'the', 'and', 'for', 'you', 'not', 'this', 'that',
  'with', 'our', 'your', 'my', 'one', 'two', 'three', 'four', 'five', 'first', 'new', 'old', 'main', 'top', 'best', 'good', 'bad',
  'god', 'jesus', 'michael', 'jordan', 'charlie', 'thomas', 'robert', 'daniel', 'jennifer', 'jessica', 'ashley', 'killer', 'batman',
  'superman', 'starwars', 'pokemon', 'hunter', 'ranger', 'buster', 'tiger', 'cheese', 'pepper', 'ginger', 'cookie', 'computer',
  'freedom', 'whatever', 'nothing', 'matrix', 'zxcvbn', 'asdf', 'group', 'phase', 'mode',
];
const WORD_SET: ReadonlySet<string> = new Set(WORDS);
const LONGEST_WORD = Math.max(...WORDS.map((w) => w.length));
const WORD_BITS = Math.log2(WORDS.length);

const KEYBOARD_ROWS: readonly string[] = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'azertyuiop'];

const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

export interface PskStrength {
  readonly weak: boolean;
  /** The estimate, in bits (rounded down). */
  readonly bits: number;
  /** Text: characters; bytes: octets. */
  readonly length: number;
  readonly text: boolean;
  /** Common words found (text keys). */
  readonly words: readonly string[];
}

function alphabetBits(s: string): number {
  let pool = 0;
  if (/[a-z]/.test(s)) pool += 26;
  if (/[A-Z]/.test(s)) pool += 26;
  if (/[0-9]/.test(s)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(s)) pool += 33;
  return Math.log2(Math.max(pool, 2));
}

/** Length of a same-character run, sequence or keyboard walk starting at i (0 when under 3). */
function runAt(lower: string, i: number): number {
  let n = 1;
  const step = lower.charCodeAt(i + 1) - lower.charCodeAt(i);
  if (step >= -1 && step <= 1) {
    while (i + n < lower.length && lower.charCodeAt(i + n) - lower.charCodeAt(i + n - 1) === step) n++;
  }
  let walk = 0;
  for (const row of KEYBOARD_ROWS) {
    for (const r of [row, [...row].reverse().join('')]) {
      const at = r.indexOf(lower[i]!);
      if (at < 0) continue;
      let k = 0;
      while (i + k < lower.length && r[at + k] === lower[i + k]) k++;
      walk = Math.max(walk, k);
    }
  }
  const best = Math.max(n, walk);
  return best >= 3 ? best : 0;
}

function textStrength(s: string): PskStrength {
  const lower = s.toLowerCase();
  const plain = [...lower].map((c) => LEET[c] ?? c).join('');
  const perChar = alphabetBits(s);
  const words: string[] = [];
  let bits = 0;
  for (let i = 0; i < s.length; ) {
    let word = 0;
    for (let len = Math.min(LONGEST_WORD, s.length - i); len >= 3; len--) {
      if (WORD_SET.has(plain.slice(i, i + len))) {
        word = len;
        break;
      }
    }
    if (word > 0) {
      const piece = s.slice(i, i + word);
      words.push(plain.slice(i, i + word));
      bits += WORD_BITS + (/[A-Z]/.test(piece) && /[a-z]/.test(piece) ? 1 : 0);
      i += word;
      continue;
    }
    const run = runAt(lower, i);
    if (run > 0) {
      bits += perChar + Math.log2(run);
      i += run;
      continue;
    }
    bits += perChar;
    i++;
  }
  const length = [...s].length;
  return { weak: length < MIN_PSK_CHARS || bits < MIN_PSK_BITS, bits: Math.floor(bits), length, text: true, words: [...new Set(words)] };
}

function bytesStrength(b: Uint8Array): PskStrength {
  let bits = 0;
  for (let i = 0; i < b.length; i++) bits += i > 0 && Math.abs(b[i]! - b[i - 1]!) <= 1 ? 1 : 8;
  return { weak: bits < MIN_PSK_BITS, bits: Math.floor(bits), length: b.length, text: false, words: [] };
}

/** The strength of a PSK as the configuration gives it (text, or the bytes of a 0x… key). */
export function pskStrength(psk: Uint8Array): PskStrength {
  const printable = psk.length > 0 && psk.every((c) => c >= 0x20 && c <= 0x7e);
  return printable ? textStrength(new TextDecoder().decode(psk)) : bytesStrength(psk);
}

/** Why a PSK is weak, in the operator's words (e.g. "6 characters, about 21 bits; common words: cisco"). */
export function pskWeakness(s: PskStrength): string {
  const parts: string[] = [];
  if (s.text && s.length < MIN_PSK_CHARS) parts.push(`${s.length} characters (fewer than ${MIN_PSK_CHARS})`);
  parts.push(`about ${s.bits} bits by a simple estimate${s.bits < MIN_PSK_BITS ? ` (under ${MIN_PSK_BITS})` : ''}`);
  if (s.words.length > 0) parts.push(`common words: ${s.words.join(', ')}`);
  return parts.join(', ');
}
