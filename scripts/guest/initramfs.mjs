// Builds the guest's initramfs: static busybox, /init (scripts/guest/init.sh), and the
// pci_endpoint_test module when the kernel package ships it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCpio } from './cpio.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export function buildInitramfs({ dir, root, kernelPkg }) {
  const boot = join(root, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuz === undefined) throw new Error(`no vmlinuz in ${boot}`);
  const kernelRelease = vmlinuz.slice('vmlinuz-'.length);
  const busybox = join(root, 'bin', 'busybox');
  const modDir = join(root, 'lib', 'modules', kernelRelease, 'kernel', 'drivers', 'misc');
  const modName = ['pci_endpoint_test.ko', 'pci_endpoint_test.ko.xz'].find((n) => existsSync(join(modDir, n))) ?? null;

  const entries = [
    { path: 'bin', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync(busybox) },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'dev', type: 'dir' },
    { path: 'proc', type: 'dir' },
    { path: 'sys', type: 'dir' },
    { path: 'lib', type: 'dir' },
    { path: 'init', type: 'file', mode: 0o755, data: readFileSync(join(here, 'init.sh')) },
  ];
  if (modName !== null) entries.push({ path: `lib/${modName}`, type: 'file', data: readFileSync(join(modDir, modName)) });
  const initrd = join(dir, 'initrd.cpio');
  writeFileSync(initrd, buildCpio(entries));
  const bios = join(root, 'usr', 'share', 'seabios');
  return {
    kernelPackage: kernelPkg,
    kernelRelease,
    bzimage: join(boot, vmlinuz),
    initrd,
    bios: join(bios, 'bios.bin'),
    vgaBios: join(bios, 'vgabios-stdvga.bin'),
    endpointTestModule: modName,
  };
}
