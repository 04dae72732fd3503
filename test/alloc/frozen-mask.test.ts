// Frozen masks: compiled once, kept encoded in engine slots, and never stale or confused between
// matrices; error text composed only when read.

import { describe, expect, it } from 'vitest';
import { CpuMask } from '../../src/alloc/cpumask.js';
import { MatrixError } from '../../src/alloc/errors.js';
import { createMatrix } from '../../src/alloc/matrix.js';

describe.each(['wasm', 'js'] as const)('frozen masks (%s)', (engine) => {
  it('matrix.mask() returns a frozen mask that allocates like the same cpulist string', async () => {
    const a = await createMatrix({ cpus: 130, engine, preset: 'x86' });
    const b = await createMatrix({ cpus: 130, engine, preset: 'x86' });
    for (const m of [a, b]) for (let c = 0; c < 130; c++) m.online(c);
    const mask = a.mask('64-129');
    expect(mask.frozen).toBe(true);
    expect(() => mask.set(3)).toThrow(MatrixError);
    for (let i = 0; i < 300; i++) {
      const n = [1, 32, 8, 1, 16][i % 5]!;
      expect(a.allocBlock(mask, n)).toEqual(b.allocBlock('64-129', n));
      expect(a.alloc(mask)).toEqual(b.alloc('64-129'));
    }
    expect(a.dump()).toBe(b.dump());
  });

  it('more frozen masks than engine slots: evicted masks are re-encoded, never confused', async () => {
    const m = await createMatrix({ cpus: 40, engine, preset: 'x86' });
    for (let c = 0; c < 40; c++) m.online(c);
    const masks = Array.from({ length: 40 }, (_, c) => m.mask([c]));
    for (let round = 0; round < 3; round++) {
      for (let c = 0; c < 40; c++) expect(m.alloc(masks[c]!).cpu).toBe(c);
      for (let c = 39; c >= 0; c--) expect(m.allocBlock(masks[c]!, 4).cpu).toBe(c);
    }
  });

  it('a frozen mask used by two matrices follows each one', async () => {
    const a = await createMatrix({ cpus: 8, engine, preset: 'x86' });
    const b = await createMatrix({ cpus: 8, engine, preset: 'x86' });
    for (let c = 0; c < 8; c++) { a.online(c); b.online(c); }
    const mask = new CpuMask(8);
    mask.set(5);
    mask.set(6);
    mask.freeze();
    for (let i = 0; i < 10; i++) {
      expect([5, 6]).toContain(a.alloc(mask).cpu);
      expect([5, 6]).toContain(b.alloc(mask).cpu);
    }
    expect(a.cpu(5).allocated + a.cpu(6).allocated).toBe(10);
    expect(b.cpu(5).allocated + b.cpu(6).allocated).toBe(10);
  });

  it('a frozen mask naming CPUs beyond the matrix is refused', async () => {
    const m = await createMatrix({ cpus: 4, engine, preset: 'x86' });
    m.online(0);
    const big = CpuMask.parse('0,9', 16).freeze();
    expect(() => m.alloc(big)).toThrow(/CPU 9 is beyond the 4 possible CPUs/);
    expect(m.stats().totalAllocated).toBe(0);
  });

  it('errors carry the operation, the mask and the kernel condition, composed when read', async () => {
    const m = await createMatrix({ cpus: 4, engine, preset: 'x86' });
    const mask = m.mask('1-2');
    let err: unknown;
    try {
      m.allocBlock(mask, 32);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatrixError);
    const me = err as MatrixError;
    expect(me.code).toBe('ENOSPC');
    expect(me.status).toBe(-28);
    expect(me.detail).toBe('alloc_block 1-2 32: no space left');
    expect(me.message).toBe('ENOSPC: alloc_block 1-2 32: no space left');
    expect(String(me.stack).split('\n')[0]).toBe('MatrixError: ENOSPC: alloc_block 1-2 32: no space left');
    expect(() => m.free(0, 0x40)).toThrow('WARN: free 0 64: irq_matrix_free: bit not allocated on this CPU');
  });
});
