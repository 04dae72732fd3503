// Errors of the v86 adapter: misuse by the embedder (not a loaded emulator, bad slots).
export class V86AttachError extends Error {
  override readonly name = 'V86AttachError';
}
