// PCI_IRQ_AFFINITY as Linux computes it (kernel/irq/affinity.c and lib/group_cpus.c, 6.1 .. 6.10): how
// many vectors a device gets and which CPUs each spread ("managed") vector may live on. The guest is
// one NUMA node without SMT siblings, so group_cpus_evenly reduces to consecutive runs of CPUs.

/** struct irq_affinity: vectors before and after the spread ones that keep the default affinity. */
export interface AffinityDesc {
  pre: number;
  post: number;
}

/**
 * irq_calc_affinity_vectors(minvec, maxvec, affd) without calc_sets: 0 when pre + post exceed minvec,
 * else pre + post + min(possible CPUs, maxvec - pre - post).
 */
export function calcAffinityVectors(minvec: number, maxvec: number, affd: AffinityDesc, possibleCpus: number): number {
  const resv = affd.pre + affd.post;
  if (resv > minvec) return 0;
  return resv + Math.min(possibleCpus, maxvec - resv);
}

/**
 * irq_create_affinity_masks(nvecs, affd): per vector, null for an unmanaged one (pre, post, or all of
 * them when nothing is left to spread) or the CPUs of its group for a managed one. The spread vectors
 * split `cpus` (in order) into groups of ncpus / n, the first ncpus % n groups one CPU larger.
 */
export function createAffinityMasks(nvecs: number, affd: AffinityDesc, cpus: readonly number[]): Array<number[] | null> {
  const out: Array<number[] | null> = new Array<number[] | null>(nvecs).fill(null);
  const affvecs = nvecs > affd.pre + affd.post ? nvecs - affd.pre - affd.post : 0;
  if (affvecs === 0) return out;
  // irq_calc_affinity_vectors caps affvecs at the CPU count; past it a group would be empty.
  const groups = Math.min(affvecs, cpus.length);
  let extra = cpus.length - groups * Math.floor(cpus.length / groups);
  let next = 0;
  for (let g = 0; g < groups; g++) {
    let n = Math.floor(cpus.length / groups);
    if (extra > 0) {
      n++;
      extra--;
    }
    out[affd.pre + g] = cpus.slice(next, next + n);
    next += n;
  }
  return out;
}
