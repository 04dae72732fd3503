// The initramfs writer against the newc format the kernel unpacks (Linux
// Documentation/driver-api/early-userspace/buffer-format.rst): "070701", thirteen 8-digit hex
// fields, the NUL-terminated name, header+name padded to 4 bytes, data padded to 4 bytes, a
// "TRAILER!!!" entry last.
import { describe, expect, it } from 'vitest';
import { buildCpio } from '../../scripts/guest/cpio.mjs';

function parse(buf: Buffer) {
  const out: { name: string; mode: number; data: string }[] = [];
  let at = 0;
  for (;;) {
    expect(buf.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('ascii', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const mode = field(1);
    const size = field(6);
    const namesize = field(11);
    const name = buf.toString('utf8', at + 110, at + 110 + namesize - 1);
    expect(buf[at + 110 + namesize - 1]).toBe(0);
    let p = at + 110 + namesize;
    p += (4 - (p % 4)) % 4;
    const data = buf.toString('utf8', p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    out.push({ name, mode, data });
    at = p;
    if (name === 'TRAILER!!!') break;
  }
  expect(at).toBe(buf.length);
  return out;
}

describe('buildCpio (newc)', () => {
  it('writes directories, files and symlinks with their type bits, 4-byte aligned, and a trailer', () => {
    const a = parse(
      buildCpio([
        { path: '/bin', type: 'dir' },
        { path: 'bin/busybox', type: 'file', mode: 0o755, data: 'abcde' },
        { path: 'bin/sh', type: 'symlink', target: 'busybox' },
        { path: 'init', type: 'file', mode: 0o755, data: '#!/bin/sh\n' },
      ]),
    );
    expect(a).toEqual([
      { name: 'bin', mode: 0o040755, data: '' },
      { name: 'bin/busybox', mode: 0o100755, data: 'abcde' },
      { name: 'bin/sh', mode: 0o120777, data: 'busybox' },
      { name: 'init', mode: 0o100755, data: '#!/bin/sh\n' },
      { name: 'TRAILER!!!', mode: 0, data: '' },
    ]);
  });
  it('is reproducible (fixed mtime, sequential inodes)', () => {
    const e = [{ path: 'x', type: 'file' as const, data: 'y' }];
    expect(buildCpio(e).equals(buildCpio(e))).toBe(true);
  });
});
