// Where the prepared guest lives, and its manifest (written by scripts/guest-prepare.mjs).
import { homedir } from 'node:os';
import { join } from 'node:path';

export const MANIFEST_NAME = 'guest.json';

/** $IRQSLICE_GUEST_DIR, else ~/.cache/irqslice-guest (outside any clone). */
export function guestDir() {
  return process.env.IRQSLICE_GUEST_DIR || join(homedir(), '.cache', 'irqslice-guest');
}
