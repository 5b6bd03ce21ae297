// `isakmp import swanctl`: configurations written here from swanctl.conf(5)'s documented syntax,
// and the charon configurations of ../shared/peers when present. Every output must load with the
// daemon's own configuration loader (what `isakmp daemon --check` runs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { parseSettings } from '../../src/import/settings-parser.js';
import { tempDir } from '../daemon/helpers.js';
import { importText } from './helpers.js';

const dir = tempDir('isakmp-swanctl-');

const SWANCTL = `# written from swanctl.conf(5)
connections {
    # a template, used below with "name : base"
    base {
        version = 1
        local_addrs = 192.0.2.1
        local {
            auth = psk
        }
        remote {
            auth = psk
        }
    }
    branch : base {
        remote_addrs = 203.0.113.7
        proposals = aes256-sha256-modp2048, aes128-sha1-ecp256-modp1024, camellia256-sha256-modp2048
        dpd_delay = 30s
        dpd_timeout = 10s
        reauth_time = 8h
        mobike = no
        children {
            net {
                local_ts = 10.1.0.0/16
                remote_ts = 10.2.0.0/16
                esp_proposals = aes128gcm16-modp2048, aes256-sha256-modp2048!
                rekey_time = 50m
                life_time = 1h
                start_action = start
                dpd_action = restart
                updown = /usr/local/sbin/updown.sh
            }
            second {
                local_ts = 10.1.1.0/24
                remote_ts = 10.3.0.0/16
            }
        }
    }
    legacy {
        version = 1
        aggressive = yes
        local_addrs = 192.0.2.1
        remote_addrs = 198.51.100.0/24
        proposals = 3des-md5-modp1024
        local { auth = psk
                id = @gw.example.org }
        remote { auth = psk }
        children { host { mode = transport
                          local_ts = 192.0.2.1/32[udp/%any]
                          esp_proposals = 3des-md5-modp1024 } }
    }
    v2only {
        version = 2
        remote_addrs = 203.0.113.9
        children { c { } }
    }
    eap {
        version = 1
        remote_addrs = 203.0.113.10
        local { auth = psk }
        remote { auth = psk }
        remote-eap { auth = eap-mschapv2 }
        children { c { } }
    }
    roadwarrior {
        version = 1
        remote_addrs = %any
        local_addrs = 192.0.2.1
        pools = rw
        local { auth = psk }
        remote { auth = psk }
        children { c { } }
    }
    byname {
        version = 1
        local_addrs = 192.0.2.1
        remote_addrs = vpn.example.net
        local { auth = psk }
        remote { auth = psk }
        children { c { } }
    }
    certs {
        version = 1
        local_addrs = 192.0.2.1
        remote_addrs = 192.0.2.2
        local {
            auth = pubkey
            certs = left.crt
        }
        remote {
            auth = pubkey
            id = "C=CH, O=isakmp-example, CN=right"
            cacerts = ca.crt
        }
        children {
            host {
                start_action = trap
            }
        }
    }
}
pools {
    rw { addrs = 10.9.0.0/24 }
}
include secrets.conf
`;
const SECRETS = `secrets {
    ike-branch {
        id-1 = 192.0.2.1
        id-2 = 203.0.113.7
        secret = "a long random branch secret 0001"
    }
    ike-legacy {
        id = gw.example.org
        secret = 0x6c6567616379
    }
    ike-any {
        secret = 0sd2lsZGNhcmQtc2VjcmV0LTEyMzQ1
    }
}
`;

describe('isakmp import swanctl', () => {
  const f = join(dir, 'swanctl.conf');
  writeFileSync(f, SWANCTL);
  writeFileSync(join(dir, 'secrets.conf'), SECRETS);
  for (const [sub, src, name] of [['x509', 'left.crt', 'left.crt'], ['private', 'left.key', 'left.key'], ['x509ca', 'ca.crt', 'ca.crt'], ['private', 'right.key', 'other.key']] as const) {
    mkdirSync(join(dir, sub), { recursive: true });
    copyFileSync(join('examples/certs', src), join(dir, sub, name));
  }

  test('connections, children, secrets, certificates: the output loads, and says what was left out', async () => {
    const r = await importText('swanctl', f);
    assert.equal(r.code, 0);
    assert.deepEqual(r.err, ['isakmp import: 4 connections imported, 5 skipped (see the comments at the top)']);
    const byName = new Map(r.config.connections.map((c) => [c.name, c]));
    // every child is a connection; the second shares the first's ISAKMP SA (issue 10)
    assert.deepEqual([...byName.keys()], ['branch', 'branch-second', 'legacy', 'certs']);

    const b = byName.get('branch')!;
    assert.equal(b.exchange, 'main');
    assert.equal(b.local.address, '192.0.2.1');
    assert.equal(b.remote.address, '203.0.113.7');
    assert.deepEqual(b.ike.map((p) => p.text), ['aes256-sha256-modp2048', 'aes128-sha1-ecp256']);
    // aes128gcm16 is carried (AES-GCM ESP, issue 10)
    assert.deepEqual(b.esp.map((p) => p.text), ['aes128gcm16-modp2048', 'aes256-sha256-modp2048']);
    assert.ok(!r.yaml.includes('not implemented by isakmp'), r.yaml);
    assert.deepEqual([b.localTs[0]!.text, b.remoteTs[0]!.text], ['10.1.0.0/16', '10.2.0.0/16']);
    assert.equal(b.start, 'start');
    assert.equal(b.ikeLifetime, 8 * 3600);
    assert.deepEqual([b.lifetime, b.rekeyMargin], [3600, 600]);
    assert.deepEqual([b.dpdDelay, b.dpdTimeout, b.dpdAction], [30, 150, 'restart']);
    assert.equal(Buffer.from((b.secret as { psk: Uint8Array }).psk).toString(), 'a long random branch secret 0001');
    for (const note of [
      'from swanctl connection \'branch\', child \'net\'',
      'not carried: aes128-sha1-modp1024: weak Diffie-Hellman groups',
      'not carried: camellia256: not an IKEv1 algorithm isakmp offers',
      'not carried: mobike = no: MOBIKE is IKEv2 only',
      'DPD timeout 10s is not longer than the delay 30s: isakmp needs it longer, 150s used',
      'not carried: children.net.updown = /usr/local/sbin/updown.sh',
    ]) assert.ok(r.yaml.replace(/\n\s*#\s+/g, ' ').includes(note), note);

    const b2 = byName.get('branch-second')!;
    assert.deepEqual([b2.remote.address, b2.localTs.map((t) => t.text), b2.remoteTs.map((t) => t.text)], ['203.0.113.7', ['10.1.1.0/24'], ['10.3.0.0/16']]);
    assert.deepEqual(b2.esp.map((p) => p.text), ['aes128-sha256', 'aes256-sha256']);
    assert.ok(r.yaml.replace(/\n\s*#\s+/g, ' ').includes("from swanctl connection 'branch', child 'second' (shares the ISAKMP SA of 'branch')"));
    assert.ok(!r.yaml.includes('not carried: children second'), r.yaml);

    const l = byName.get('legacy')!;
    assert.equal(l.exchange, 'aggressive');
    assert.equal(l.remote.address, '%any');
    assert.equal(l.local.id?.text, 'gw.example.org');
    assert.deepEqual(l.ike.map((p) => p.text), ['3des-md5-modp1024']);
    assert.equal(l.allowWeakGroups, true, 'only weak groups: carried, flagged');
    assert.equal(l.allowAggressivePskResponder, true);
    assert.equal(l.ipsecMode, 'transport');
    assert.equal(l.localTs[0]!.text, '192.0.2.1/32[udp]');
    assert.equal(Buffer.from((l.secret as { psk: Uint8Array }).psk).toString(), 'legacy');
    assert.match(r.yaml, /# WEAK: the source uses Diffie-Hellman groups below 2048-bit MODP/);
    assert.match(r.yaml, /remote_addrs = 198\.51\.100\.0\/24: a range or subnet of peers; carried as %any/);

    const c = byName.get('certs')!;
    assert.equal(c.auth, 'rsa');
    const s = c.secret as unknown as { certPath: string; keyPath: string; caPaths: string[] };
    assert.deepEqual([s.certPath, s.keyPath, s.caPaths], [join(dir, 'x509/left.crt'), join(dir, 'private/left.key'), [join(dir, 'x509ca/ca.crt')]]);
    assert.equal(c.start, 'add');
    assert.match(r.yaml, /start_action = trap: carried as start: add/);

    const header = r.yaml.split('\nsecrets:')[0]!.replace(/\n#\s+/g, ' ');
    for (const skip of [
      '- v2only: IKEv2-only (version = 2): isakmp speaks IKEv1',
      '- eap: a second authentication round (remote-eap (auth = eap-mschapv2)): isakmp does not do XAUTH or EAP',
      '- roadwarrior: virtual IPs (pools = rw) need Mode Config, which isakmp does not do',
      "- byname: remote_addrs = vpn.example.net: a host name; isakmp needs the peer's IP address",
      '- base: no child',
      '- pools { … }: virtual IP pools need Mode Config',
    ]) assert.ok(header.includes(skip), skip);
  });

  test('the settings syntax: sections on one line, quoted values with escapes, comments, includes, errors with file and line', () => {
    const s = parseSettings('a { b = "x # y \\" z" # comment\n c { d = 1 } }\n', 'f.conf');
    assert.equal(s.sections.get('a')!.values.get('b'), 'x # y " z');
    assert.equal(s.sections.get('a')!.sections.get('c')!.values.get('d'), '1');
    assert.throws(() => parseSettings('a {\n b = 1\n', 'f.conf'), /f\.conf: section 'a' is not closed/);
    assert.throws(() => parseSettings('a {\n }\n}\n', 'f.conf'), /f\.conf:3: '}' without a section to close/);
    assert.throws(() => parseSettings('a {\n b\n}\n', 'f.conf'), /f\.conf:2: cannot read 'b'/);
  });

  test('errors: no such file, a folder, a syntax error (exit 1, one line)', async () => {
    const run = async (...argv: string[]): Promise<{ code: number; err: string[]; out: string[] }> => {
      const out: string[] = [];
      const err: string[] = [];
      return { code: await runCli(argv, { out: (x) => out.push(x), err: (x) => err.push(x) }), err, out };
    };
    let r = await run('import', 'swanctl', join(dir, 'nope.conf'));
    assert.deepEqual([r.code, r.err], [1, [`isakmp import: ${join(dir, 'nope.conf')}: no such file`]]);
    r = await run('import', 'swanctl', dir);
    assert.deepEqual([r.code, r.err], [1, [`isakmp import: ${dir}: is a directory`]]);
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'connections {\n  x {\n    = 3\n  }\n}\n');
    r = await run('import', 'swanctl', bad);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, [`isakmp import: ${bad}:3: cannot read '= 3' (expected NAME {, KEY = VALUE, } or include FILE)`]);
    assert.deepEqual(r.out, []);
  });

  const shared = '../shared/peers/conf/charon';
  test('the charon configurations of ../shared/peers (read at test time only)', { skip: existsSync(shared) ? false : `${shared} absent` }, async () => {
    const files = readdirSync(shared).filter((n) => n.endsWith('.conf')).sort();
    assert.deepEqual(files, ['initiator.conf', 'responder.conf', 'xauth-initiator.conf', 'xauth-responder.conf']);
    const init = await importText('swanctl', join(shared, 'initiator.conf'));
    assert.deepEqual(init.config.connections.map((c) => [c.name, c.exchange, c.ike.map((p) => p.text).join(' '), c.esp.map((p) => p.text).join(' ')]), [
      ['mm-psk', 'main', 'aes128-sha256-modp2048', 'aes128-sha256-modp2048'],
      // every child with selectors of its own is a connection sharing mm-psk's ISAKMP SA (issue 10)
      ['mm-psk-transport', 'main', 'aes128-sha256-modp2048', 'aes128-sha1-modp2048'],
      ['mm-psk-nopfs', 'main', 'aes128-sha256-modp2048', 'aes256-sha256'],
      ['am-psk', 'aggressive', 'aes256-sha1-ecp256', 'aes128-sha1'],
    ]);
    assert.match(init.yaml.replace(/\n\s*#\s+/g, ' '), /not carried: children pfs-ecp \(the same selectors as child 'pfs': a Quick Mode of the peer could not tell them apart\)/);
    assert.match(init.yaml.replace(/\n#\s+/g, ' '), /- mm-rsa: local\.certs = peer-a\.crt: .*peer-a\.crt not found/);
    const resp = await importText('swanctl', join(shared, 'responder.conf'));
    assert.deepEqual(resp.config.connections.map((c) => c.name), ['mm-psk', 'mm-psk-transport', 'mm-psk-inner', 'am-psk']);
    const mm = resp.config.connections.find((c) => c.name === 'mm-psk')!;
    assert.equal(mm.ike.length, 8);
    assert.ok(mm.esp.every((p) => p.group === 14));
    for (const x of ['xauth-initiator.conf', 'xauth-responder.conf']) {
      const r = await importText('swanctl', join(shared, x));
      assert.equal(r.config.connections.length, 0);
      assert.match(r.yaml.replace(/\n#\s+/g, ' '), /- xauth-psk: a second authentication round \((local|remote)-xauth \(auth = xauth\)\): isakmp does not do XAUTH or EAP/);
    }
  });

  test('several local_ts / remote_ts, AH children, children with the same selectors (issue 10)', async () => {
    const d = tempDir('isakmp-swanctl-');
    const g = join(d, 'swanctl.conf');
    writeFileSync(g, `connections {
    hq {
        version = 1
        local_addrs = 192.0.2.1
        remote_addrs = 203.0.113.40
        proposals = aes256-sha256-modp2048
        local { auth = psk }
        remote { auth = psk }
        children {
            lans {
                local_ts = 10.1.0.0/16, 10.4.0.0/16
                remote_ts = 10.40.0.0/16,10.41.0.0/16, 10.42.0.0/16
                esp_proposals = aes256gcm16-modp2048
            }
            mgmt {
                local_ts = dynamic, 10.9.0.0/24
                remote_ts = 172.20.0.0/24
                ah_proposals = sha256-sha512-modp3072
            }
            dup {
                local_ts = 10.4.0.0/16
                remote_ts = 10.41.0.0/16
            }
            bundle {
                local_ts = 10.7.0.0/16
                remote_ts = 10.47.0.0/16
                ah_proposals = sha256
                esp_proposals = aes128-sha256
            }
        }
    }
}
secrets {
    ike-hq {
        id = 203.0.113.40
        secret = "hq-lan-secret-with-enough-entropy-77"
    }
}
`);
    const r = await importText('swanctl', g);
    const y = r.yaml.replace(/\n\s*#\s+/g, ' ');
    const by = new Map(r.config.connections.map((c) => [c.name, c]));
    assert.deepEqual([...by.keys()], ['hq', 'hq-mgmt']);
    const lans = by.get('hq')!;
    assert.deepEqual([lans.localTs.map((t) => t.text), lans.remoteTs.map((t) => t.text)], [['10.1.0.0/16', '10.4.0.0/16'], ['10.40.0.0/16', '10.41.0.0/16', '10.42.0.0/16']]);
    assert.deepEqual(lans.esp.map((p) => p.text), ['aes256gcm16-modp2048']);
    assert.match(r.yaml, /\n    local_ts: \["10\.1\.0\.0\/16", "10\.4\.0\.0\/16"\]\n/);
    // dynamic in a list is the local address; ah_proposals alone is AH
    const mgmt = by.get('hq-mgmt')!;
    assert.deepEqual([mgmt.localTs.map((t) => t.text), mgmt.remoteTs.map((t) => t.text)], [['192.0.2.1/32', '10.9.0.0/24'], ['172.20.0.0/24']]);
    assert.deepEqual([mgmt.esp.length, mgmt.ah.map((p) => p.text)], [0, ['sha256-modp3072', 'sha512-modp3072']]);
    assert.match(r.yaml, /\n    ah: sha256-modp3072, sha512-modp3072\n/);
    for (const n of [
      "not carried: children dup (the same selectors as child 'lans': a Quick Mode of the peer could not tell them apart)",
      'bundle (ah_proposals and esp_proposals: an AH + ESP bundle, which isakmp does not negotiate; AH alone or ESP alone)',
    ]) assert.ok(y.includes(n), n);
  });
});
