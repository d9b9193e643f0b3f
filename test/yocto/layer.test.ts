/**
 * The Yocto layer, proven by real BitBake on every series in ../shared/yocto (scarthgap, wrynose):
 * it parses without an error or a warning of its own, the recipe's variables say what the README
 * promises, the image's graph holds the agent's runtime dependencies, and `-c unpack` of the
 * checkout's own revision brings every npm dependency the device needs (and no lint tool).
 * BitBake runs as an unprivileged user through scripts/yocto-env.sh (it refuses root).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/agent.js';

const ENV = join(REPO, 'scripts/yocto-env.sh');
const SERIES = (process.env['YOCTO_SERIES'] ?? 'scarthgap wrynose').split(/\s+/).filter(Boolean);
const LOCK = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string; dev?: boolean; link?: boolean }>;
};
const INC = readFileSync(join(REPO, 'yocto-layer/recipes-bodycam/bodycam-agent/bodycam-agent-npm.inc'), 'utf8');
/** What the agent needs on the device besides node itself (the recipe's RDEPENDS). */
const RUNTIME = ['ffmpeg', 'v4l-utils', 'libgpiod-tools', 'util-linux-setpriv', 'i2c-tools', 'ttf-dejavu-sans-mono'];
const MINUTES = 60_000;

function run(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(ENV, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `NAME="value"` lines of `bitbake -e` (exported ones start with `export `). */
function variables(dump: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const m of dump.matchAll(/^(?:export )?([A-Za-z0-9_:${}.+-]+)="(.*)"$/gm)) vars.set(m[1]!, m[2]!);
  return vars;
}

const problems = (out: string): string[] => out.split('\n').filter((l) => /^(ERROR|WARNING):/.test(l));

test('package-lock.json names a resolved https URL and an integrity for every package', () => {
  const bad = Object.entries(LOCK.packages)
    .filter(([path, e]) => path !== '' && !e.link && !(e.resolved?.startsWith('https://') && e.integrity?.startsWith('sha512-')))
    .map(([path]) => path);
  assert.deepEqual(bad, []);
});

test('the recipe\'s npm list (bodycam-agent-npm.inc) is generated from the current package-lock.json', () => {
  const r = spawnSync(process.execPath, [join(REPO, 'scripts/yocto-npm-sources.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

for (const series of SERIES) {
  describe(`Yocto ${series}`, { timeout: 40 * MINUTES }, () => {
    let agentEnv = new Map<string, string>();
    let revision = '';

    before(() => {
      const r = run(['setup', series]);
      assert.equal(r.status, 0, r.out);
      revision = r.out.trim().split('\n').pop() ?? '';
      assert.match(revision, /^[0-9a-f]{40}$/, r.out);
    });
    after(() => { run(['stop', series]); });

    test('every recipe parses with the layer: no error, no warning', () => {
      const r = run(['bitbake', series, '-p']);
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
    });

    test('bitbake -e bodycam-agent: pinned git source, npm tarballs, systemd, runtime dependencies, one installed tree', () => {
      const r = run(['bitbake', series, '-e', 'bodycam-agent']);
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
      agentEnv = variables(r.out);
      const v = (name: string): string => agentEnv.get(name) ?? assert.fail(`${name} not in bitbake -e`);

      const srcUri = v('SRC_URI').split(/\s+/).filter(Boolean);
      assert.match(srcUri[0]!, /^git:\/\/.*checkout\.git;protocol=file;branch=yocto-check;destsuffix=git$/, 'the git source comes first');
      const npm = srcUri.filter((u) => u.startsWith('https://registry.npmjs.org/'));
      assert.equal(npm.length, INC.split('\n').filter((l) => l.startsWith('SRC_URI +=')).length);
      assert.ok(npm.some((u) => u.includes('/typescript/-/')), 'typescript (build tool) is fetched');
      assert.deepEqual(npm.filter((u) => u.includes('@bufbuild')), [], 'buf (lint tool) is not fetched');
      assert.match(v('PV'), /^0\.1\.0\+git/, 'PV carries the revision');
      assert.ok(v('REQUIRED_DISTRO_FEATURES').split(/\s+/).includes('systemd'));

      const rdepends = v('RDEPENDS:bodycam-agent').split(/\s+/);
      for (const p of ['nodejs', ...RUNTIME]) assert.ok(rdepends.includes(p), `RDEPENDS lacks ${p}: ${rdepends.join(' ')}`);
      // With meta-rauc in the build (dynamic-layers/rauc/…/bodycam-agent_%.bbappend): the reboot
      // path unit, RAUC's D-Bus policy, and agent.json with an `update` section from that bbappend.
      assert.deepEqual(v('SYSTEMD_SERVICE:bodycam-agent').split(/\s+/).filter(Boolean), ['bodycam-agent.service', 'bodycam-reboot.path']);
      for (const f of ['bodycam-reboot.path', 'bodycam-reboot.service', 'bodycam-rauc.conf']) assert.ok(srcUri.includes(`file://${f}`), `SRC_URI lacks ${f}`);
      assert.match(v('FILESEXTRAPATHS').split(':')[0]!, /dynamic-layers\/rauc\/recipes-bodycam\/bodycam-agent\/files\/?$/, "the rauc flavour's agent.json is found first");
      assert.ok(rdepends.includes('rauc'), 'RDEPENDS lacks rauc');
      assert.equal(v('SYSTEMD_SERVICE:bodycam-agent-evidence-mount'), 'var-lib-bodycam.mount');
      const files = v('FILES:bodycam-agent').split(/\s+/);
      for (const f of [v('BODYCAM_TREE'), `${v('systemd_system_unitdir')}/bodycam-agent.service`, `${v('systemd_system_unitdir')}/bodycam-agent@.service`, v('bindir'), `${v('sysconfdir')}/dbus-1/system.d/bodycam-rauc.conf`, `${v('systemd_system_unitdir')}/bodycam-reboot.service`]) {
        assert.ok(files.includes(f), `FILES:bodycam-agent lacks ${f}: ${files.join(' ')}`);
      }
      assert.equal(v('BODYCAM_TREE'), `${v('nonarch_libdir')}/node_modules/bodycam-agent`, 'one tree: npm.bbclass installs node_modules inside it');
    });

    test('bitbake -g bodycam-image: the image graph holds the agent, node and every runtime dependency', () => {
      const r = run(['run', series, 'sh', '-c', 'bitbake -g bodycam-image && cat pn-buildlist']);
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
      const pns = new Set(r.out.split('\n').map((l) => l.trim()));
      // Package names map to recipes: libgpiod-tools → libgpiod, util-linux-setpriv → util-linux, ttf-dejavu-sans-mono → ttf-dejavu.
      for (const pn of ['bodycam-agent', 'nodejs', 'ffmpeg', 'v4l-utils', 'libgpiod', 'util-linux', 'i2c-tools', 'ttf-dejavu', 'systemd', 'volatile-binds', 'rauc', 'rauc-conf', 'libubootenv']) {
        assert.ok(pns.has(pn), `${pn} missing from bodycam-image's build list`);
      }
    });

    test('RAUC (meta-rauc): the image takes two rootfs slots and the evidence partition outside them; rauc-conf ships the layer\'s system.conf and keyring', () => {
      const img = variables(run(['bitbake', series, '-e', 'bodycam-image']).out);
      assert.equal(img.get('WKS_FILE'), 'bodycam-image-ab.wks');
      assert.ok((img.get('IMAGE_FSTYPES') ?? '').split(/\s+/).includes('ext4'), 'an ext4 of the root for the bundle');
      const wks = readFileSync(join(REPO, 'yocto-layer/recipes-core/images/bodycam-image-ab.wks'), 'utf8');
      assert.deepEqual([...wks.matchAll(/--part-name (\S+)/g)].map((m) => m[1]), ['rootfs_a', 'rootfs_b']);
      assert.match(wks, /--label evidence/);
      const conf = readFileSync(join(REPO, 'yocto-layer/dynamic-layers/rauc/recipes-core/rauc/files/system.conf'), 'utf8');
      assert.deepEqual([...conf.matchAll(/^device=(\S+)$/gm)].map((m) => m[1]), ['/dev/disk/by-partlabel/rootfs_a', '/dev/disk/by-partlabel/rootfs_b'], 'the slots are the two root partitions, never the evidence one');
      const r = run(['bitbake', series, '-e', 'rauc-conf']);
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
      const v = variables(r.out);
      assert.equal(v.get('RAUC_KEYRING_FILE'), 'bodycam-dev-ca.cert.pem');
      assert.match(v.get('FILESEXTRAPATHS') ?? '', /dynamic-layers\/rauc\/recipes-core\/rauc\/files/);
    });

    test('bitbake -g bodycam-bundle: the signed bundle (inherit bundle) builds from bodycam-image', () => {
      const r = run(['run', series, 'sh', '-c', 'bitbake -g bodycam-bundle && cat pn-buildlist']);
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
      const pns = new Set(r.out.split('\n').map((l) => l.trim()));
      for (const pn of ['bodycam-bundle', 'bodycam-image', 'rauc-native', 'squashfs-tools-native']) assert.ok(pns.has(pn), `${pn} missing from bodycam-bundle's build list`);
    });

    test('bitbake bodycam-agent -c unpack: the checkout\'s revision and every npm dependency the device needs, in place', () => {
      const r = run(['bitbake', series, 'bodycam-agent', '-c', 'unpack'], { BB_NO_NETWORK: '0' });
      assert.equal(r.status, 0, r.out.slice(-4000));
      assert.deepEqual(problems(r.out), []);
      const s = agentEnv.get('S') ?? assert.fail('no S from bitbake -e');
      const unpackdir = agentEnv.get('BODYCAM_UNPACKDIR') ?? assert.fail('no BODYCAM_UNPACKDIR');
      assert.ok(existsSync(join(s, 'agent/cli/main.ts')), 'the agent sources are unpacked in S');
      const head = spawnSync('git', ['-c', 'safe.directory=*', '-C', s, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
      assert.equal(head.stdout.trim(), revision, 'S is the checkout\'s revision');
      assert.deepEqual(JSON.parse(readFileSync(join(s, 'package-lock.json'), 'utf8')), LOCK, 'S holds this checkout\'s lockfile');
      for (const [path, e] of Object.entries(LOCK.packages)) {
        if (path === '' || e.dev || e.link) continue;
        const pkg = join(s, path, 'package.json');
        assert.ok(existsSync(pkg), `${path} not unpacked`);
        assert.equal((JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version, e.version, path);
      }
      assert.ok(existsSync(join(s, 'node_modules/typescript/bin/tsc')), 'tsc is there to compile the agent');
      assert.ok(!existsSync(join(s, 'node_modules/@bufbuild')), 'buf is not fetched');
      for (const f of ['bodycam-agent.service', 'bodycam-agent@.service', 'var-lib-bodycam.mount', 'bodycam-agent.tmpfiles', '90-bodycam.rules', 'agent.json', 'bodycam-reboot.path', 'bodycam-reboot.service', 'bodycam-rauc.conf']) {
        assert.ok(readdirSync(unpackdir).includes(f), `${f} not unpacked`);
      }
      // With meta-rauc the image's agent.json is the one that enables updates.
      assert.ok('update' in (JSON.parse(readFileSync(join(unpackdir, 'agent.json'), 'utf8')) as object), "the unpacked agent.json is the rauc flavour's");
    });
  });
}
