// Input helpers for the CLI: read a named file or standard input ("-" or no file).

import { readFileSync } from 'node:fs';

export async function readInput(file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFileSync(file, 'utf8');
}

/** Raised for bad command-line usage; the CLI prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
