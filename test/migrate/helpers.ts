// Shared defaults for the migration tests: the bench's worst ordinary case (64-bit address, no
// per-vector masking, the old base taken on the new CPU, the new base unused on the old CPU).

import type { ExploreOptions } from '../../src/migrate/explore.js';

export function opts(p: Partial<ExploreOptions> & Pick<ExploreOptions, 'protocol'>): ExploreOptions {
  return { mode: 'affinity', count: 1, pvm: false, is64: true, stale: 'free', target: 'other-base', schedule: 'eager', fires: 1, ...p };
}

/** Guest steps of the __pci_write_msi_msg sequence: Message Control, address, upper address (64-bit), data. */
export const WRITE_MSG_64 = 4;
export const WRITE_MSG_32 = 3;
