#!/usr/bin/env node
// npm run example:v86 [-- --msi | --msix] — boot Debian's 32-bit Linux 6.1 in v86 with irqslice's
// PcieRootPort and MsiEndpoint attached (irqslice/v86), raise two PMEs from the port's side, and
// print the kernel's view of the devices next to what the models saw. Needs `npm run guest:prepare`.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { V86 } from 'v86';
import { MsiEndpoint, PcieRootPort } from '../../dist/index.js';
import { runGuestSession } from '../../dist/adapters/v86.js';

const mode = process.argv.includes('--msi') ? 'msi' : 'msix';
const dir = process.env.IRQSLICE_GUEST_DIR || join(homedir(), '.cache', 'irqslice-guest');
const manifestFile = join(dir, 'guest.json');
if (!existsSync(manifestFile)) {
  console.error(`no prepared guest at ${manifestFile}: run npm run guest:prepare first`);
  process.exit(1);
}
const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
const file = (p) => {
  const b = readFileSync(p);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const wasmPath = join(dirname(createRequire(import.meta.url).resolve('v86')), 'v86.wasm');

const port = new PcieRootPort({ interrupts: mode });
const endpoint = new MsiEndpoint({ msi: { vectors: 4, is64: true, pvm: false }, intxPin: 0 });
console.log(`booting ${m.kernelPackage} in v86 with a PcieRootPort (${mode}) at 00:10.0 and an MsiEndpoint at 00:11.0 …`);
const r = await runGuestSession({
  V86,
  wasmPath,
  images: { bzimage: file(m.bzimage), initrd: file(m.initrd), bios: file(m.bios), vgaBios: file(m.vgaBios) },
  functions: [port, endpoint],
  slots: [0x10, 0x11],
  cmdline: 'quiet loglevel=3',
  betweenReports: async () => {
    for (let i = 0; i < 2; i++) {
      port.raisePme(0x10 << 3);
      while (port.pcie.pmeStatus || !port.pcie.pmeInterruptEnabled) await new Promise((res) => setTimeout(res, 20));
    }
  },
});
const hex = (v, w = 4) => '0x' + (v >>> 0).toString(16).padStart(w, '0');
console.log(`/init reported after ${(r.timing.ready / 1000).toFixed(1)} s\n`);
console.log('The kernel\'s view (from /sys/bus/pci/devices and /proc/interrupts):');
for (const d of r.after.devices.filter((x) => x.bdf === '00:10.0' || x.bdf === '00:11.0')) {
  console.log(`  ${d.bdf}  ${hex(d.vendor)}:${hex(d.device)}  class ${hex(d.classCode, 6)}  driver ${d.driver ?? '(none)'}`);
  for (const q of d.msiIrqs) {
    const row = r.after.interrupts.find((i) => i.irq === String(q.irq));
    console.log(`    IRQ ${q.irq} (${q.mode})${row ? `: ${row.count} interrupts, ${row.desc}` : ': allocated, no handler'}`);
  }
}
console.log('\nWhat the models saw:');
if (port.msi) console.log(`  00:10.0 MSI: enabled ${port.msi.enabled}, MMC ${port.msi.multipleMessageCapable} (2 messages), MME ${port.msi.multipleMessageEnable}, address ${hex(Number(port.msi.address()), 8)}, data ${hex(port.msi.data())}`);
if (port.msix) for (const i of [0, 1]) {
  const e = port.msix.entry(i);
  console.log(`  00:10.0 MSI-X entry ${i}: address ${hex(Number(e.address), 8)}, data ${hex(e.data)}, masked ${e.masked}`);
}
console.log(`  00:10.0 PME messages sent: ${port.pmeMessagesSent}; delivered to v86's APIC: ${r.attachment.delivered.map((d) => `vector ${hex(d.vector, 2)}`).join(', ')}`);
console.log(`  00:11.0 MSI enabled: ${endpoint.msi.enabled} (Debian's 686 kernel has no driver for it: CONFIG_PCI_ENDPOINT_TEST is off)`);
process.exit(0);
