#!/usr/bin/env node
// npm run guest:prepare — fetch the real guest for the v86 test (test/adapters/v86/guest.test.ts) and
// build its initramfs. Debian packages are fetched with `apt-get download` and unpacked with
// `dpkg-deb -x` into a cache folder outside the clone; nothing is ever installed (a kernel package
// runs hooks, and busybox-static:i386 would replace the host's busybox).
//
// Cache folder: $IRQSLICE_GUEST_DIR, else ~/.cache/irqslice-guest. It ends with guest.json, the
// manifest the test and examples/v86 read (scripts/guest/manifest.mjs).
// On a host without apt/dpkg this prints why and exits 0 unless CI=true (the test then skips, or
// fails in CI).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guestDir, MANIFEST_NAME } from './guest/manifest.mjs';
import { buildInitramfs } from './guest/initramfs.mjs';

const dir = guestDir();
const debs = join(dir, 'debs');
const root = join(dir, 'root');

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  console.error(`guest:prepare: ${message}`);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

if (!have('apt-get') || !have('dpkg-deb') || !have('apt-cache')) fail('needs apt-get, apt-cache and dpkg-deb (a Debian host); the real-guest test will skip');

// i386 packages need the foreign architecture and its package lists (idempotent).
const foreign = run('dpkg', ['--print-foreign-architectures']).split(/\s+/);
const isRoot = process.getuid?.() === 0;
if (!foreign.includes('i386')) {
  if (!isRoot) fail('the i386 architecture is not enabled and this is not root (run: dpkg --add-architecture i386 && apt-get update)');
  run('dpkg', ['--add-architecture', 'i386']);
}

/** The exact kernel image package linux-image-686:i386 depends on (never a wildcard). */
function resolveKernelPackage() {
  const out = run('apt-cache', ['depends', 'linux-image-686:i386']);
  const m = /Depends:\s*(linux-image-[0-9][^\s:]*-686):i386/.exec(out);
  return m ? m[1] : null;
}

let kernelPkg = resolveKernelPackage();
if (kernelPkg === null && isRoot) {
  // No i386 lists yet: fetch them once. A partial failure of unrelated sources is tolerated.
  try {
    run('apt-get', ['update', '-qq']);
  } catch {
    /* checked below */
  }
  kernelPkg = resolveKernelPackage();
}
if (kernelPkg === null) fail('apt-cache cannot resolve linux-image-686:i386 (no i386 package lists?)');

const packages = [`${kernelPkg}:i386`, 'busybox-static:i386', 'seabios'];
mkdirSync(debs, { recursive: true });
const stamp = join(dir, 'packages.txt');
const wanted = packages.join('\n') + '\n';
const fresh = !existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted || !existsSync(root);
if (fresh) {
  rmSync(debs, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  mkdirSync(root, { recursive: true });
  console.log(`guest:prepare: apt-get download ${packages.join(' ')}`);
  // apt-get download writes into the current directory; as root it may warn that the _apt user
  // cannot write there, which is harmless.
  try {
    run('apt-get', ['download', '-qq', ...packages], { cwd: debs });
  } catch {
    // Stale package lists name files the mirror no longer has: refresh once and resolve again.
    if (!isRoot) fail('apt-get download failed (and only root can refresh the package lists)');
    try {
      run('apt-get', ['update', '-qq']);
    } catch {
      /* partial failures of unrelated sources are tolerated */
    }
    const again = resolveKernelPackage();
    if (again === null) fail('apt-cache cannot resolve linux-image-686:i386 after apt-get update');
    packages[0] = `${again}:i386`;
    kernelPkg = again;
    run('apt-get', ['download', '-qq', ...packages], { cwd: debs });
  }
  for (const f of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, f), root]);
  writeFileSync(stamp, packages.join('\n') + '\n');
} else {
  console.log(`guest:prepare: packages already unpacked in ${dir}`);
}

const manifest = buildInitramfs({ dir, root, kernelPkg });
writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
console.log(`guest:prepare: ready (${manifest.kernelRelease}) in ${dir}`);
