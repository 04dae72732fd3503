// Regressions found by the long differential fuzz run (npm run fuzz), named after what they caught.

import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../src/alloc/errors.js';
import { createMatrix } from '../../src/alloc/matrix.js';
import { ENGINES } from './helpers.js';

describe.each(ENGINES)('%s', (engine) => {
  it('assignSystem(replace) of a managed allocation is refused, so managed_allocated keeps matching the maps', async () => {
    const m = await createMatrix({ cpus: 1, engine, preset: 'x86' });
    m.online(0);
    m.reserveManaged('0'); // managed bit 0x20
    expect(m.allocManaged('0')).toEqual({ cpu: 0, vector: 0x20 });
    const before = m.dump();
    let err: unknown;
    try {
      m.assignSystem(0x20, true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatrixError);
    expect((err as MatrixError).code).toBe('BUG');
    expect(m.dump()).toBe(before);
    expect(m.cpu(0).managedAllocated).toBe(1);
  });
});
