// Boot a Linux guest in v86 with irqslice functions attached, and read back what its /init reports
// (scripts/guest/init.sh: "@@" lines over the serial console). Used by the real-guest test and by
// examples/v86; the caller passes the V86 constructor and the images, so nothing here imports v86.
import type { PciFunction } from '../../index.js';
import type { V86Emulator } from './v86-internals.js';
import type { V86Attachment, V86Event } from './attach.js';
import { attachToV86 } from './attach.js';
import { V86AttachError } from './errors.js';

/** The public surface of a `new V86(...)` object that a session uses (v86.d.ts). */
export interface V86Instance extends V86Emulator {
  add_listener(event: string, listener: (value: unknown) => void): void;
  run(): unknown;
  stop(): unknown;
  destroy(): unknown;
  serial0_send(text: string): void;
}

export type V86Constructor = new (options: Record<string, unknown>) => V86Instance;

export interface GuestImages {
  bzimage: ArrayBuffer;
  initrd: ArrayBuffer;
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
}

export interface GuestSessionOptions {
  V86: V86Constructor;
  /** Path or URL of v86.wasm (node_modules/v86/build/v86.wasm under Node). */
  wasmPath: string;
  images: GuestImages;
  functions: readonly PciFunction[];
  slots?: number[];
  /** Appended to "console=ttyS0 pcie_ports=native". */
  cmdline?: string;
  memoryMiB?: number;
  /** Runs between the two reports (the guest waits on its console meanwhile). */
  betweenReports?: (session: { attachment: V86Attachment }) => Promise<void>;
  timeoutMs?: number;
  onSerialLine?: (line: string) => void;
}

export interface GuestDevice {
  bdf: string;
  vendor: number;
  device: number;
  classCode: number;
  driver: string | null;
  /** Config space as the guest read it from sysfs (256 bytes as root). */
  config: Uint8Array;
  /** IRQ numbers in msi_irqs with their mode ("msi" / "msix"). */
  msiIrqs: { irq: number; mode: string }[];
}

export interface InterruptRow {
  irq: string;
  count: number;
  /** Chip, hwirq-trigger and action names as /proc/interrupts prints them. */
  desc: string;
}

export interface GuestReport {
  devices: GuestDevice[];
  interrupts: InterruptRow[];
}

export interface GuestSessionResult {
  boot: GuestReport;
  after: GuestReport;
  attachment: V86Attachment;
  events: V86Event[];
  serial: string;
  /** Milliseconds from run() to @@READY and to @@DONE. */
  timing: { ready: number; done: number };
}

/** v86 copies the initrd to guest-physical 64 MiB (src/cpu.js load_kernel), so RAM must reach past it. */
const INITRD_LOAD_ADDRESS = 64 << 20;

export async function runGuestSession(o: GuestSessionOptions): Promise<GuestSessionResult> {
  const memory = (o.memoryMiB ?? 128) * 1024 * 1024;
  if (!(memory >= INITRD_LOAD_ADDRESS + o.images.initrd.byteLength)) {
    throw new V86AttachError(`memoryMiB ${String(o.memoryMiB)} is too small: v86 loads the initrd at 64 MiB (${o.images.initrd.byteLength} bytes)`);
  }
  const emulator = new o.V86({
    wasm_path: o.wasmPath,
    memory_size: memory,
    vga_memory_size: 2 * 1024 * 1024,
    bios: { buffer: o.images.bios },
    vga_bios: { buffer: o.images.vgaBios },
    bzimage: { buffer: o.images.bzimage },
    initrd: { buffer: o.images.initrd },
    cmdline: `console=ttyS0 pcie_ports=native ${o.cmdline ?? ''}`.trim(),
    acpi: true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
  const events: V86Event[] = [];
  let attachment: V86Attachment | null = null;
  let serial = '';
  let line = '';
  const lines: string[] = [];
  let waiter: { marker: string; resolve: () => void } | null = null;
  const start = Date.now();

  const loaded = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new V86AttachError('v86 did not finish loading (emulator-loaded) within 60 s')), 60_000);
    emulator.add_listener('emulator-loaded', () => (clearTimeout(t), resolve()));
  });
  emulator.add_listener('serial0-output-byte', (b) => {
    const ch = String.fromCharCode(b as number);
    serial += ch;
    if (ch !== '\n') {
      if (ch !== '\r') line += ch;
      return;
    }
    lines.push(line);
    o.onSerialLine?.(line);
    if (waiter !== null && line.startsWith(waiter.marker)) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
    line = '';
  });
  const waitFor = (marker: string) =>
    new Promise<void>((resolve, reject) => {
      if (lines.some((l) => l.startsWith(marker))) return resolve();
      const t = setTimeout(() => reject(new V86AttachError(`guest did not print ${marker} within ${o.timeoutMs ?? 120000} ms; serial tail:\n${serial.slice(-3000)}`)), o.timeoutMs ?? 120000);
      waiter = { marker, resolve: () => (clearTimeout(t), resolve()) };
    });

  try {
    await loaded;
    attachment = attachToV86(emulator, o.functions, { acpi: true, ...(o.slots ? { slots: o.slots } : {}), onEvent: (e) => events.push(e) });
    emulator.run();
    await waitFor('@@READY');
    const ready = Date.now() - start;
    await o.betweenReports?.({ attachment });
    emulator.serial0_send('go\n');
    await waitFor('@@DONE');
    const done = Date.now() - start;
    const at = lines.indexOf('@@READY');
    return {
      boot: parseReport(lines.slice(0, at)),
      after: parseReport(lines.slice(at + 1)),
      attachment,
      events,
      serial,
      timing: { ready, done },
    };
  } finally {
    await emulator.stop();
    await emulator.destroy();
  }
}

/** Parse one report (the @@DEV/@@CONFIG/@@MSI lines and the /proc/interrupts block). */
export function parseReport(lines: readonly string[]): GuestReport {
  const devices = new Map<string, GuestDevice>();
  const interrupts: InterruptRow[] = [];
  let inInterrupts = false;
  for (const raw of lines) {
    const l = raw.trimEnd();
    if (l === '@@INTERRUPTS') {
      inInterrupts = true;
      continue;
    }
    if (l === '@@END-INTERRUPTS') {
      inInterrupts = false;
      continue;
    }
    if (inInterrupts) {
      const m = /^\s*([0-9A-Za-z]+):\s+(\d+)\s*(.*)$/.exec(l);
      if (m) interrupts.push({ irq: m[1]!, count: Number(m[2]), desc: m[3]!.trim() });
      continue;
    }
    const parts = l.split(/\s+/);
    const bdf = (parts[1] ?? '').replace(/^0000:/, '');
    if (parts[0] === '@@DEV' && parts.length >= 6) {
      devices.set(bdf, {
        bdf,
        vendor: Number(parts[2]),
        device: Number(parts[3]),
        classCode: Number(parts[4]),
        driver: parts[5] === 'none' ? null : parts[5]!,
        config: new Uint8Array(),
        msiIrqs: [],
      });
    } else if (parts[0] === '@@CONFIG' && devices.has(bdf)) {
      const hex = parts[2] ?? '';
      devices.get(bdf)!.config = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    } else if (parts[0] === '@@MSI' && devices.has(bdf)) {
      devices.get(bdf)!.msiIrqs.push({ irq: Number(parts[2]), mode: parts[3] ?? '' });
    }
  }
  return { devices: [...devices.values()], interrupts };
}
