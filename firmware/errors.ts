// Boot errors: the guest stops with a precise message instead of crashing.

export class BootError extends Error {
  override readonly name = 'BootError';
  constructor(readonly stage: string, message: string) {
    super(`${stage}: ${message}`);
  }
}
