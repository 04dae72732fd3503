// Finding the prepared guest (npm run guest:prepare) and booting it with irqslice functions.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { GuestImages, V86Constructor } from '../../../src/adapters/v86/index.js';

export interface GuestManifest {
  kernelPackage: string;
  kernelRelease: string;
  bzimage: string;
  initrd: string;
  bios: string;
  vgaBios: string;
}

export function guestDir(): string {
  return process.env.IRQSLICE_GUEST_DIR || join(homedir(), '.cache', 'irqslice-guest');
}

/** The manifest, or why the guest is not there. */
export function findGuest(): { manifest: GuestManifest } | { missing: string } {
  const file = join(guestDir(), 'guest.json');
  if (!existsSync(file)) return { missing: `no prepared guest at ${file} (run: npm run guest:prepare)` };
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as GuestManifest;
  for (const k of ['bzimage', 'initrd', 'bios', 'vgaBios'] as const) {
    if (!existsSync(manifest[k])) return { missing: `prepared guest incomplete: ${manifest[k]} is missing (run: npm run guest:prepare)` };
  }
  return { manifest };
}

export function loadImages(m: GuestManifest): GuestImages {
  const buf = (p: string) => {
    const b = readFileSync(p);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  return { bzimage: buf(m.bzimage), initrd: buf(m.initrd), bios: buf(m.bios), vgaBios: buf(m.vgaBios) };
}

export async function loadV86(): Promise<{ V86: V86Constructor; wasmPath: string }> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('v86');
  const mod = (await import('v86')) as unknown as { V86: V86Constructor };
  return { V86: mod.V86, wasmPath: join(main, '..', 'v86.wasm') };
}
