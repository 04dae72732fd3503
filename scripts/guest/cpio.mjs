// A cpio "newc" archive writer (the format the Linux kernel unpacks as an initramfs:
// Documentation/driver-api/early-userspace/buffer-format.rst). Regular files, directories and
// symlinks only; no hard links, no device nodes (the kernel's devtmpfs provides /dev).

/** @typedef {{ path: string, type: 'file' | 'dir' | 'symlink', mode?: number, data?: Uint8Array | string, target?: string }} CpioEntry */

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function hex8(n) {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(len) {
  return (4 - (len % 4)) % 4;
}

/**
 * Build a newc archive from entries (parents must come before children).
 * @param {CpioEntry[]} entries
 * @returns {Buffer}
 */
export function buildCpio(entries) {
  const parts = [];
  let ino = 1;
  const push = (name, mode, body) => {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const header =
      '070701' +
      hex8(ino++) + // c_ino
      hex8(mode) + // c_mode
      hex8(0) + hex8(0) + // uid, gid
      hex8(mode & S_IFDIR ? 2 : 1) + // c_nlink
      hex8(0) + // c_mtime: fixed, so the archive is reproducible
      hex8(body.length) + // c_filesize
      hex8(0) + hex8(0) + hex8(0) + hex8(0) + // dev major/minor, rdev major/minor
      hex8(nameBytes.length) + // c_namesize (with the NUL)
      hex8(0); // c_check
    parts.push(Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)));
    parts.push(body, Buffer.alloc(pad4(body.length)));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') push(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
    else if (e.type === 'symlink') push(name, S_IFLNK | 0o777, Buffer.from(e.target ?? '', 'utf8'));
    else push(name, S_IFREG | (e.mode ?? 0o644), Buffer.from(e.data ?? ''));
  }
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
