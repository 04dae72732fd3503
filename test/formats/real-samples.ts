// The real samples of test/data/real (see its README for how they were made), read for the tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../data/real');

/** Debian's Linux 6.1.0-50 on QEMU 7.2.22, q35, 4 CPUs; `-ir`: with intel-iommu,intremap=on; `-rootport`: an ioh3420 and the xHCI. */
export type Machine = 'qemu-7.2-linux-6.1-q35-4cpu' | 'qemu-7.2-linux-6.1-q35-4cpu-ir' | 'qemu-7.2-linux-6.1-q35-4cpu-rootport';

export function sample(machine: Machine, file: 'proc-interrupts.txt' | 'lspci-vv.txt' | 'info-lapic.txt' | 'info-pic.txt'): string {
  return readFileSync(path.join(root, machine, file), 'utf8');
}

export function publicSample(file: string): string {
  return readFileSync(path.join(root, 'public', file), 'utf8');
}

/** The block of `lspci -vv` output for one function (its header line up to the blank line after it). */
export function lspciBlock(text: string, bdf: string): string {
  const start = text.indexOf(`${bdf} `);
  if (start < 0) throw new Error(`no ${bdf} in the sample`);
  const end = text.indexOf('\n\n', start);
  return text.slice(start, end + 2);
}
