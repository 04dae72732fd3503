import { describe, expect, it } from 'vitest';
import { enterX2apic, fixed, makeApic, swEnable } from './helpers.js';

// SDM vol. 3A §11.5.3 (ESR, error LVT), §11.4.7.2 (software-disabled state).
const ESR_SEND_ILLEGAL = 1 << 5;
const ESR_RECEIVE_ILLEGAL = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

describe('error status register', () => {
  it('errors stay invisible until an ESR write latches them', () => {
    const { apic } = makeApic();
    apic.read(0x040); // reserved offset
    expect(apic.read(0x280)).toBe(0);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_ILLEGAL_REGISTER);
  });

  it('a second ESR write clears what the first one latched', () => {
    const { apic } = makeApic();
    apic.write(0x3f0, 1); // SELF IPI offset is reserved in xAPIC mode
    apic.write(0x280, 0);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(0);
  });

  it('reserved and unaligned MMIO offsets latch "illegal register address" and read 0', () => {
    const { apic, events } = makeApic();
    expect(apic.read(0x000)).toBe(0);
    expect(apic.read(0x084)).toBe(0); // not 16-byte aligned
    apic.write(0x3a0, 0xdead);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_ILLEGAL_REGISTER);
    expect(events.filter((e) => e.kind === 'illegal-register')).toHaveLength(3);
  });

  it('an ICR send with vector < 16 latches "send illegal vector" and sends nothing', () => {
    const rig = makeApic();
    swEnable(rig.apic);
    rig.apic.write(0x310, 0x0100_0000);
    rig.apic.write(0x300, 0x0000_000f /* fixed, vector 15 */);
    rig.apic.write(0x280, 0);
    expect(rig.apic.read(0x280)).toBe(ESR_SEND_ILLEGAL);
  });

  it('a received fixed message with vector < 16 latches "receive illegal vector" and sets no IRR bit', () => {
    const { apic } = makeApic();
    swEnable(apic);
    expect(apic.accept(fixed(0x0e))).toBe(false);
    expect(apic.read(0x200)).toBe(0);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_RECEIVE_ILLEGAL);
  });

  it('a self IPI with an illegal vector latches both send and receive illegal vector', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x300, 0x0004_0005 /* shorthand self, fixed, vector 5 */);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_SEND_ILLEGAL | ESR_RECEIVE_ILLEGAL);
  });

  it('an unmasked error LVT raises its vector once, and again only after an ESR write re-arms it', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x370, 0xfe /* error LVT: vector 0xFE, unmasked */);
    apic.read(0x040);
    expect(apic.acknowledge()).toBe(0xfe);
    apic.write(0x0b0, 0);
    apic.read(0x050); // second error before re-arming: no interrupt
    expect(apic.hasInterrupt()).toBe(false);
    apic.write(0x280, 0);
    apic.read(0x060);
    expect(apic.acknowledge()).toBe(0xfe);
  });

  it('a masked error LVT records the error without raising an interrupt', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x370, 0x0001_00fe);
    apic.read(0x040);
    expect(apic.hasInterrupt()).toBe(false);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_ILLEGAL_REGISTER);
  });

  it('a lowest-priority ICR in x2APIC mode latches "redirectable IPI" (bit 4) and is not sent', () => {
    const { apic } = makeApic();
    enterX2apic(apic);
    swEnable(apic);
    apic.wrmsr(0x830, 0x0000_0000_0004_0130n /* self, lowest priority, vector 0x30 */);
    expect(apic.hasInterrupt()).toBe(false);
    apic.wrmsr(0x828, 0n);
    expect(apic.rdmsr(0x828)).toBe(0x10n);
  });

  it('a timer LVT with an illegal vector latches "receive illegal vector" on expiry', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x3e0, 0b1011 /* divide by 1 */);
    apic.write(0x320, 0x0000_0003);
    apic.write(0x380, 1);
    apic.tick(1);
    apic.write(0x280, 0);
    expect(apic.read(0x280)).toBe(ESR_RECEIVE_ILLEGAL);
  });
});

describe('software-disabled APIC (SVR bit 8 = 0)', () => {
  it('drops new fixed interrupts and reports the drop', () => {
    const rig = makeApic();
    expect(rig.apic.accept(fixed(0x40))).toBe(false);
    expect(rig.apic.read(0x220)).toBe(0);
    expect(rig.events.map((e) => e.kind)).toEqual(['message-dropped']);
  });

  it('still accepts NMI, INIT and SIPI', () => {
    const rig = makeApic({ apicId: 1, bsp: false });
    rig.apic.accept({ vector: 0, mode: 'nmi', trigger: 'edge' });
    rig.apic.accept({ vector: 0, mode: 'init', trigger: 'edge' });
    rig.apic.accept({ vector: 0x9a, mode: 'sipi', trigger: 'edge' });
    expect(rig.calls).toEqual(['nmi', 'init', 'sipi:0x9a']);
  });

  it('keeps pending IRR and in-service ISR bits across a software disable', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.accept(fixed(0x50));
    apic.acknowledge();
    apic.accept(fixed(0x61));
    apic.write(0x0f0, 0x0ff);
    expect(apic.read(0x120)).toBe(1 << 16 /* ISR 0x50 */);
    expect(apic.read(0x230)).toBe(1 << 1 /* IRR 0x61 */);
    expect(apic.acknowledge()).toBe(0x61); // held interrupts still reach the CPU (§11.4.7.2)
  });

  it('forces every LVT mask bit set when the APIC is disabled', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x320, 0x0000_0040);
    apic.write(0x350, 0x0000_0700 /* ExtINT */);
    apic.write(0x0f0, 0x0ff);
    expect(apic.read(0x320)).toBe(0x0001_0040);
    expect(apic.read(0x350)).toBe(0x0001_0700);
  });

  it('ignores attempts to clear an LVT mask bit while disabled', () => {
    const { apic } = makeApic();
    apic.write(0x330, 0x0000_0051);
    expect(apic.read(0x330)).toBe(0x0001_0051 /* mask stays set, vector written */);
  });

  it('leaves LVTs masked after software re-enables the APIC', () => {
    const { apic } = makeApic();
    swEnable(apic);
    apic.write(0x0f0, 0x0ff);
    swEnable(apic);
    expect(apic.read(0x370)).toBe(0x0001_0000);
  });
});
