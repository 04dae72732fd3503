// PCI_IRQ_AFFINITY (pci_alloc_irq_vectors_affinity) as Linux 6.1 .. 6.10 computes it:
//   irq_calc_affinity_vectors(min, max, affd) = 0 if pre + post > min, else pre + post + min(possible CPUs, max - pre - post);
//   irq_create_affinity_masks: pre/post vectors keep the default affinity (unmanaged), the rest are
//   managed, one per group of group_cpus_evenly (one node, no SMT: consecutive CPUs, ncpus / n each,
//   the first ncpus % n groups one larger).
// Managed vectors go through irq_matrix_reserve_managed (one bit on every CPU of the mask, the lowest
// free) and irq_matrix_alloc_managed (the CPU of the mask with fewest managed_allocated, last on ties),
// so the debugfs dump shows them in its man/mac columns as the real kernel does.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BootError } from '../../firmware/errors.js';
import { kernelMain } from '../../firmware/kernel.js';
import { calcAffinityVectors, createAffinityMasks } from '../../firmware/affinity-masks.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { parseScenario, ScenarioError, type ScenarioInput } from '../../src/scenario/scenario.js';
import { createMatrixSync } from '../../src/alloc/matrix.js';

const at = (r: Awaited<ReturnType<typeof runScenario>>) => r.devices.map((d) => [d.bdf, d.mode, d.messages.map((m) => [m.cpu, m.vector, m.ok])]);

describe('irq_calc_affinity_vectors / irq_create_affinity_masks', () => {
  it('caps the spread vectors at the CPU count and refuses pre + post > min', () => {
    expect(calcAffinityVectors(1, 8, { pre: 0, post: 0 }, 4)).toBe(4);
    expect(calcAffinityVectors(1, 3, { pre: 0, post: 0 }, 4)).toBe(3);
    expect(calcAffinityVectors(1, 8, { pre: 1, post: 0 }, 4)).toBe(5);
    expect(calcAffinityVectors(2, 4, { pre: 1, post: 1 }, 6)).toBe(4);
    expect(calcAffinityVectors(1, 4, { pre: 1, post: 1 }, 6)).toBe(0);
  });
  it('spreads groups of consecutive CPUs, larger groups first; pre/post unmanaged', () => {
    expect(createAffinityMasks(4, { pre: 0, post: 0 }, [0, 1, 2, 3, 4, 5])).toEqual([[0, 1], [2, 3], [4], [5]]);
    expect(createAffinityMasks(4, { pre: 1, post: 1 }, [0, 1, 2, 3, 4, 5])).toEqual([null, [0, 1, 2], [3, 4, 5], null]);
    expect(createAffinityMasks(3, { pre: 0, post: 0 }, [0, 1, 2, 3, 4, 5, 6, 7])).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
    expect(createAffinityMasks(1, { pre: 0, post: 0 }, [0, 1, 2, 3])).toEqual([[0, 1, 2, 3]]);
    // Nothing left to spread: every vector keeps the default affinity.
    expect(createAffinityMasks(1, { pre: 1, post: 0 }, [0, 1, 2, 3])).toEqual([null]);
  });
  it('property: the managed masks partition the CPUs in order, group sizes non-increasing and within one of each other', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 80 }), (ncpus, pre, post, max) => {
        const cpus = Array.from({ length: ncpus }, (_, i) => i);
        const n = calcAffinityVectors(pre + post, max + pre + post, { pre, post }, ncpus);
        expect(n).toBe(pre + post + Math.min(ncpus, max));
        const masks = createAffinityMasks(n, { pre, post }, cpus);
        expect(masks.slice(0, pre).every((m) => m === null) && masks.slice(n - post).every((m) => m === null)).toBe(true);
        const groups = masks.slice(pre, n - post) as number[][];
        expect(groups.flat()).toEqual(cpus);
        const sizes = groups.map((g) => g.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
      }),
    );
  });
  it('the guest refuses a malformed affinity boot parameter as a BootError', () => {
    const params = (affinity: unknown) => ({ policy: 'aligned', createMatrix: (cpus: number) => createMatrixSync({ cpus, engine: 'js' }), devices: { '00:03.0': { affinity } } });
    for (const a of [{ pre: -1, post: 0 }, { pre: 0 }, { pre: 0, post: 0, x: 1 }, true, null]) expect(() => kernelMain(params(a) as never)).toThrow(BootError);
    expect(() => kernelMain(params({ pre: 1, post: 2 }) as never)).not.toThrow();
  });
});

describe('MSI-X with affinity: managed vectors, one group each', () => {
  it('affinity true on 4 CPUs: 4 of 8 entries, one managed vector per CPU (as real 6.1 shows with remapping)', async () => {
    const r = await runScenario({ cpus: 4, devices: [{ bdf: '00:03.0', msix: { vectors: 8 }, affinity: true }] });
    expect(r.ok).toBe(true);
    // Each CPU's lowest free bit is 0x20 (CPU 0 holds the timer's 0x30).
    expect(at(r)).toEqual([['00:03.0', 'msix', [[0, 0x20, true], [1, 0x20, true], [2, 0x20, true], [3, 0x20, true]]]]);
    for (const cpu of [1, 2, 3]) expect(r.vectors).toMatch(new RegExp(`\\n\\s+${cpu}\\s+200\\s+1\\s+1\\s+1\\s+32\\n`));
    expect(r.vectors).toMatch(/\n\s+0\s+199\s+1\s+1\s+2\s+32,48\n/);
  });

  it('pre 1: the admin vector is ordinary (most available CPU), the 4 queues managed; a later block avoids the managed bits', async () => {
    const r = await runScenario({
      cpus: 4,
      devices: [
        { bdf: '00:03.0', msix: { vectors: 8 }, affinity: { pre: 1 } },
        { bdf: '00:04.0', msi: { vectors: 4, is64: true, pvm: false } },
      ],
    });
    expect(r.ok).toBe(true);
    // Entry 0 first: CPU 1 (201 available, lowest of the ties) 0x20; then the managed ones on CPUs 0..3,
    // CPU 1's at 0x21. The 4-block goes to CPU 2 (200, tie with 3) at 0x24, the first aligned free run.
    expect(at(r)).toEqual([
      ['00:03.0', 'msix', [[1, 0x20, true], [0, 0x20, true], [1, 0x21, true], [2, 0x20, true], [3, 0x20, true]]],
      ['00:04.0', 'msi', [[2, 0x24, true], [2, 0x25, true], [2, 0x26, true], [2, 0x27, true]]],
    ]);
  });

  it('pre 1, post 1, min 2 on 6 CPUs: two managed vectors over CPUs 0-2 and 3-5', async () => {
    const r = await runScenario({ cpus: 6, devices: [{ bdf: '00:03.0', msix: { vectors: 4 }, min: 2, affinity: { pre: 1, post: 1 } }] });
    expect(r.ok).toBe(true);
    // Entry 0: CPU 1 0x20 (most available); entry 1 managed on 0-2: reserved 0x20 on CPUs 0, 2 and 0x21
    // on CPU 1, taken on the last of the ties (CPU 2); entry 2 on 3-5 → CPU 5; entry 3 (post): CPUs 2..5
    // have 200 available each (a managed reservation counts once), CPUs 0 and 1 199 → CPU 2, whose
    // lowest free bit is 0x21.
    expect(at(r)).toEqual([['00:03.0', 'msix', [[1, 0x20, true], [2, 0x20, true], [5, 0x20, true], [2, 0x21, true]]]]);
  });

  it('pre + post above min: irq_calc_affinity_vectors gives 0, MSI-X is -ENOSPC and the driver falls back to INTx', async () => {
    const r = await runScenario({ cpus: 6, devices: [{ bdf: '00:03.0', msix: { vectors: 4 }, affinity: { pre: 1, post: 1 } }] });
    expect(r.devices.map((d) => [d.mode, d.vectors])).toEqual([['intx', 1]]);
    const no = await runScenario({ cpus: 6, devices: [{ bdf: '00:03.0', msix: { vectors: 4 }, intxPin: 0, affinity: { pre: 1, post: 1 }, expectError: 'ENOSPC' }] });
    expect(no.devices.map((d) => [d.mode, d.error])).toEqual([['none', 'ENOSPC']]);
    expect(no.ok).toBe(true);
  });

  it('freebsd: no managed vectors; each spread vector bound to its group’s first CPU', async () => {
    const r = await runScenario({ cpus: 4, policy: 'freebsd', devices: [{ bdf: '00:03.0', msix: { vectors: 8 }, affinity: true }] });
    expect(r.ok).toBe(true);
    expect(at(r)).toEqual([['00:03.0', 'msix', [[0, 0x30, true], [1, 0x30, true], [2, 0x30, true], [3, 0x30, true]]]]);
  });
});

describe('plain MSI with affinity', () => {
  it('linux: its one vector is managed over every CPU (a managed bit reserved on each, allocated on the last)', async () => {
    const r = await runScenario({ cpus: 4, policy: 'linux', devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true }, affinity: true }] });
    expect(r.ok).toBe(true);
    expect(at(r)).toEqual([['00:03.0', 'msi', [[3, 0x20, true]]]]);
    expect(r.vectors).toMatch(/\n\s+0\s+199\s+1\s+0\s+1\s+48\n\s+1\s+200\s+1\s+0\s+0\s*\n\s+2\s+200\s+1\s+0\s+0\s*\n\s+3\s+200\s+1\s+1\s+1\s+32\n/);
  });

  it('linux: pre 1 leaves nothing to spread, so the vector is ordinary; min 2 is -ENOSPC', async () => {
    const r = await runScenario({ cpus: 4, policy: 'linux', devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true }, affinity: { pre: 1 } }] });
    expect(at(r)).toEqual([['00:03.0', 'msi', [[1, 0x20, true]]]]);
    expect(r.vectors).toMatch(/\n\s+1\s+200\s+0\s+0\s+1\s+32\n/);
    const no = await runScenario({ cpus: 4, policy: 'linux', devices: [{ bdf: '00:03.0', msi: { vectors: 8, is64: true, pvm: true }, min: 2, affinity: true, intxPin: 0, expectError: 'ENOSPC' }] });
    expect(no.ok).toBe(true);
  });

  it.each(['aligned', 'freebsd', 'freebsd-legacy'] as const)('%s: refused as a scenario error (a block cannot be spread)', async (policy) => {
    const sc = { cpus: 4, policy, devices: [{ bdf: '00:03.0', msi: { vectors: 4, is64: true, pvm: false }, affinity: true }] } satisfies ScenarioInput;
    expect(() => parseScenario(JSON.stringify(sc))).toThrow(new ScenarioError('devices[0].affinity', '"00:03.0" has MSI without MSI-X: under policy "' + policy + '" its vectors are one block, which cannot be spread over CPUs (only "linux", with one managed vector, and "linux-ir", with one IRTE per message, take it)'));
    // A policy chosen at run time is held to the same rule.
    await expect(runScenario({ ...sc, policy: 'linux' }, { policy })).rejects.toThrow(ScenarioError);
  });
});

describe('affinity validation', () => {
  const dev = (affinity: unknown) => JSON.stringify({ cpus: 2, devices: [{ bdf: '00:03.0', msix: { vectors: 4 }, affinity }] });
  it.each([
    [false, 'devices[0].affinity: must be true or { "pre": n, "post": n }, got false'],
    ['yes', 'devices[0].affinity: must be true or { "pre": n, "post": n }, got "yes"'],
    [[1], 'devices[0].affinity: must be true or { "pre": n, "post": n }, got [1]'],
    [{ pre: -1 }, 'devices[0].affinity.pre: must be 0..2048, got -1'],
    [{ post: 1.5 }, 'devices[0].affinity.post: must be an integer, got 1.5'],
    [{ pre: 1, spread: 2 }, 'devices[0].affinity.spread: unknown field'],
  ])('%j is refused', (a, msg) => {
    expect(() => parseScenario(dev(a))).toThrow(msg);
  });
  it('true means pre 0, post 0; missing sides are 0', () => {
    expect(parseScenario(dev(true)).devices[0]!.affinity).toEqual({ pre: 0, post: 0 });
    expect(parseScenario(dev({ post: 2 })).devices[0]!.affinity).toEqual({ pre: 0, post: 2 });
  });
});
