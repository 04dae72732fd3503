// attachToV86 against a stand-in for v86 0.5.462's internals (the shapes of v86-internals.ts, with
// v86's own behaviour for what the adapter relies on): config access through CF8/CFC, BAR mapping,
// MSI into the APIC struct from a macrotask, INTx through raise_irq, the ACPI hotplug workaround.
import { describe, expect, it } from 'vitest';
import { MsiEndpoint } from '../../../src/index.js';
import { attachToV86, PIIX4_HOTPLUG_BASE, V86AttachError } from '../../../src/adapters/v86/index.js';
import type { V86Cpu, V86Emulator, V86MmioRead, V86MmioWrite, V86Pci, V86PciDevice, V86Port } from '../../../src/adapters/v86/index.js';

const APIC_ADDR = 4096;
const MEMORY = 64 << 20;

function fakeV86() {
  const ports: V86Port[] = Array.from({ length: 0x10000 }, () => ({
    device: undefined,
    read8: () => 0xff,
    read16: () => 0xffff,
    read32: () => -1,
    write8: () => {},
    write16: () => {},
    write32: () => {},
  }));
  const blocks = 1 << 15;
  const unmappedR: V86MmioRead = () => 0xff;
  const unmappedW: V86MmioWrite = () => {};
  const calls = { handleIrqs: 0, raise: [] as number[], lower: [] as number[], nextTick: 0, mmap: [] as number[], passthrough: 0 };
  const raw = new Int32Array(256 * 16);
  const pci: V86Pci = {
    pci_addr: new Uint8Array(4),
    pci_response32: new Int32Array(1),
    pci_status32: new Int32Array(1),
    devices: [],
    pci_query() {
      calls.passthrough++;
      this.pci_response32[0] = -1;
    },
    pci_write8() {
      calls.passthrough++;
    },
    pci_write16() {
      calls.passthrough++;
    },
    pci_write32() {
      calls.passthrough++;
    },
    register_device(d: V86PciDevice) {
      this.devices[d.pci_id] = d;
      return raw;
    },
    raise_irq: (id) => calls.raise.push(id),
    lower_irq: (id) => calls.lower.push(id),
  };
  pci.devices[0] = { pci_id: 0, pci_space: [], pci_bars: [], name: 'host bridge' };
  pci.devices[1 << 3] = { pci_id: 8, pci_space: [], pci_bars: [], name: 'isa' };
  const cpu: V86Cpu = {
    io: {
      ports,
      mmap_register(address, size, r8, w8, r32, w32) {
        calls.mmap.push(address);
        for (let b = address >>> 17; size > 0; b++, size -= 1 << 17) {
          cpu.memory_map_read8[b] = r8;
          cpu.memory_map_write8[b] = w8;
          cpu.memory_map_read32[b] = r32;
          cpu.memory_map_write32[b] = w32;
        }
      },
    },
    devices: { pci },
    wasm_memory: new WebAssembly.Memory({ initial: 1 }),
    memory_map_read8: new Array(blocks).fill(unmappedR),
    memory_map_write8: new Array(blocks).fill(unmappedW),
    memory_map_read32: new Array(blocks).fill(() => -1),
    memory_map_write32: new Array(blocks).fill(unmappedW),
    memory_size: Uint32Array.of(MEMORY),
    get_apic_addr: () => APIC_ADDR,
    handle_irqs: () => void calls.handleIrqs++,
  };
  const emulator: V86Emulator = { v86: { cpu, running: true, stopping: false, next_tick: () => void calls.nextTick++ } };
  /** A guest config access: CF8 then CFC, as Linux's pci_conf1_read/write do. */
  const cfg = {
    read(dev: number, offset: number): number {
      pci.pci_addr.set([offset & 0xfc, dev << 3, 0, 0x80]);
      pci.pci_query();
      return pci.pci_response32[0]! >>> 0;
    },
    write(dev: number, offset: number, value: number): void {
      pci.pci_addr.set([offset & 0xfc, dev << 3, 0, 0x80]);
      pci.pci_query();
      pci.pci_write32((0x80 << 24) | (dev << 11) | offset, value | 0);
    },
  };
  const mmio = {
    read32: (a: number) => cpu.memory_map_read32[a >>> 17]!(a) >>> 0,
    write32: (a: number, v: number) => cpu.memory_map_write32[a >>> 17]!(a, v),
  };
  const irr = () => Array.from(new Int32Array(cpu.wasm_memory.buffer, APIC_ADDR, 46).subarray(16, 24), (x) => x >>> 0);
  return { emulator, cpu, pci, calls, cfg, mmio, irr };
}

const macrotask = () => new Promise<void>((r) => setImmediate(r));

describe('attachToV86', () => {
  it('answers config reads for its slot from the model and leaves other slots to v86', () => {
    const v = fakeV86();
    const ep = new MsiEndpoint();
    const a = attachToV86(v.emulator, [ep]);
    expect(a.functions.map((f) => f.bdf)).toEqual(['00:10.0']);
    expect(v.cfg.read(0x10, 0)).toBe(0x0001_fff0);
    expect(v.calls.passthrough).toBe(0);
    expect(v.cfg.read(0x05, 0)).toBe(0xffff_ffff);
    expect(v.calls.passthrough).toBe(1);
  });

  it('config writes go through the model\'s masks (vendor ID is read-only) and a following read sees them', () => {
    const v = fakeV86();
    const ep = new MsiEndpoint();
    attachToV86(v.emulator, [ep]);
    v.cfg.write(0x10, 0x00, 0x1234_5678);
    expect(v.cfg.read(0x10, 0)).toBe(0x0001_fff0);
    v.cfg.write(0x10, 0x04, 0xffff_ffff);
    // The data port still latches our dword without a new CF8 write.
    expect(v.pci.pci_response32[0]! & 0x0407).toBe(ep.command & 0x0407);
    expect(ep.command & 0x7).toBe(0x7);
  });

  it('maps a memory BAR where the guest puts it and moves it when reprogrammed', () => {
    const v = fakeV86();
    const ep = new MsiEndpoint();
    attachToV86(v.emulator, [ep]);
    v.cfg.write(0x10, 0x10, 0xfebf_0000);
    v.cfg.write(0x10, 0x04, 0x0006);
    expect(v.calls.mmap).toEqual([0xfeb_e0000]);
    expect(v.mmio.read32(0xfebf_0018)).toBe(1); // MODE register: 1 = INTx (pin A, no MSI enabled)
    v.cfg.write(0x10, 0x10, 0xfe00_0000);
    expect(v.mmio.read32(0xfebf_0018)).toBe(0xffff_ffff); // the old place falls through to "unmapped"
    expect(v.mmio.read32(0xfe00_0018)).toBe(1);
  });

  it('BAR sizing (all ones written) maps nothing: the top of 4 GiB stays the BIOS ROM\'s', () => {
    const v = fakeV86();
    attachToV86(v.emulator, [new MsiEndpoint()]);
    v.cfg.write(0x10, 0x04, 0x0006);
    v.cfg.write(0x10, 0x10, 0xffff_ffff);
    expect(v.cfg.read(0x10, 0x10)).toBe(0xffff_f000); // 4 KiB BAR0, as PCI 3.0 §6.2.5.1 sizing reads back
    expect(v.calls.mmap).toEqual([]);
  });

  it('puts an MSI in the APIC\'s IRR and calls handle_irqs only from a macrotask', async () => {
    const v = fakeV86();
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const a = attachToV86(v.emulator, [ep]);
    const o = ep.msi!.offset;
    v.cfg.write(0x10, o + 4, 0xfee0_1004);
    v.cfg.write(0x10, o + 8, 0x0041);
    v.cfg.write(0x10, o, (0x0001 << 16) | ep.configRead(o, 2));
    v.cfg.write(0x10, 0x10, 0xfebf_0000);
    v.cfg.write(0x10, 0x04, 0x0006);
    v.mmio.write32(0xfebf_0000, 0); // doorbell 0
    expect(v.irr()).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(v.calls.handleIrqs).toBe(0);
    await macrotask();
    expect(v.irr()[2]).toBe(1 << 1); // vector 0x41 = dword 2, bit 1
    expect(v.calls.handleIrqs).toBe(1);
    expect(v.calls.nextTick).toBe(1);
    expect(a.delivered).toEqual([{ bdf: '00:10.0', address: 0xfee0_1004, data: 0x41, vector: 0x41 }]);
  });

  it('a message outside the APIC window is not claimed: master abort in the function, an event for the embedder', async () => {
    const v = fakeV86();
    const ep = new MsiEndpoint({ msi: { vectors: 1, is64: false, pvm: false } });
    const events: unknown[] = [];
    attachToV86(v.emulator, [ep], { onEvent: (e) => events.push(e) });
    const o = ep.msi!.offset;
    v.cfg.write(0x10, o + 4, 0x1000_0000);
    v.cfg.write(0x10, o + 8, 0x0041);
    v.cfg.write(0x10, o, (0x0001 << 16) | ep.configRead(o, 2));
    v.cfg.write(0x10, 0x04, 0x0006);
    ep.ring(0);
    await macrotask();
    expect(v.irr()).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ep.status & (1 << 13)).toBe(1 << 13);
    expect(events).toEqual([{ kind: 'msi-dropped', bdf: '00:10.0', address: 0x1000_0000, data: 0x41, reason: 'not-apic-address' }]);
  });

  it('routes INTx through v86\'s raise_irq/lower_irq for the slot', async () => {
    const v = fakeV86();
    const ep = new MsiEndpoint({ intxPin: 1 });
    attachToV86(v.emulator, [ep], { slots: [0x12] });
    ep.configWrite(0x04, 2, 0x0006);
    ep.ring(0);
    await macrotask();
    expect(v.calls.raise).toEqual([0x12 << 3]);
    ep.setInterruptStatus(false);
    await macrotask();
    expect(v.calls.lower).toEqual([0x12 << 3]);
    expect(v.pci.devices[0x12 << 3]!.pci_space[0x3d]).toBe(1); // the pin byte raise_irq's swizzle reads
  });

  it('acpi: true makes the PIIX4 hotplug block 0xAE00–0xAE0F read 0', () => {
    const v = fakeV86();
    attachToV86(v.emulator, [], { acpi: true });
    for (let p = PIIX4_HOTPLUG_BASE; p < PIIX4_HOTPLUG_BASE + 16; p++) expect(v.cpu.io.ports[p]!.read8()).toBe(0);
    expect(v.cpu.io.ports[0xae10]!.read8()).toBe(0xff);
  });

  it('refuses a slot v86 already uses, and an emulator that is not loaded', () => {
    const v = fakeV86();
    expect(() => attachToV86(v.emulator, [new MsiEndpoint()], { slots: [1] })).toThrow(V86AttachError);
    expect(() => attachToV86({} as V86Emulator, [])).toThrow(V86AttachError);
  });
});
