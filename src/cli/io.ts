// Input for the CLI: a named file or standard input, decoded as strict UTF-8 (a leading BOM is
// dropped), with every way of failing turned into a one-line UsageError that names the input.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Raised for bad command-line usage or unusable input; the CLI prints it on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the CLI's bytes come from and go to (process streams in dist/cli.js; buffers in tests). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Standard input as a byte stream. */
  stdin(): AsyncIterable<Uint8Array>;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stdin: () => process.stdin,
    stdinIsTTY: process.stdin.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** Scenario files and single script lines are refused above this size: nothing valid comes close. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** How a source is named in messages: the path as given, or <stdin>. */
export function inputName(file: string): string {
  if (file === '-') return '<stdin>';
  const q = quote(file, 200);
  return q === `"${file}"` && !/\s/.test(file) ? file : q;
}

/**
 * Text safe to put on one line of a terminal: control characters, quotes and invisible format
 * characters escaped, long text cut in the middle. Used for everything a user typed or a file held.
 */
export function quote(text: string, max = 80): string {
  let t = text;
  if (t.length > max) t = `${t.slice(0, max - 20)}…(${t.length} chars)…${t.slice(-10)}`;
  return JSON.stringify(t).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function errnoMessage(e: unknown, name: string): UsageError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why: Record<string, string> = {
    ENOENT: 'no such file',
    EISDIR: 'is a directory, not a file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOTDIR: 'a component of the path is not a directory',
    ENAMETOOLONG: 'the path is too long',
    ELOOP: 'too many symbolic links',
    EMFILE: 'too many open files',
    EAGAIN: 'would block (a non-blocking stream)',
  };
  const reason = (code && why[code]) ?? (e instanceof Error ? e.message.split('\n')[0]! : String(e));
  return new UsageError(`cannot read ${name}: ${reason}${code && !why[code] ? ` (${code})` : ''}`);
}

/**
 * Decodes bytes incrementally as strict UTF-8: NUL bytes mean binary input and invalid sequences
 * mean another encoding; both are refused with the byte offset, never echoing the bytes.
 */
export class Utf8Lines {
  // ignoreBOM false: a leading UTF-8 BOM is consumed, not passed on as U+FEFF.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private offset = 0;
  private readonly pending: string[] = [];
  private pendingLength = 0;
  private lineNo = 0;
  constructor(private readonly name: string, private readonly maxLine = MAX_INPUT_BYTES) {}

  /** Refuses bytes with a NUL: binary, whatever else they hold. */
  check(bytes: Uint8Array): void {
    const nul = bytes.indexOf(0);
    if (nul >= 0) throw new UsageError(`${this.name}: binary input (NUL byte at offset ${this.offset + nul}), expected UTF-8 text`);
  }

  /** Feeds bytes; returns the complete lines they finish (without their line ends). */
  push(bytes: Uint8Array): string[] {
    this.check(bytes);
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream: true });
    } catch {
      throw new UsageError(`${this.name}: not UTF-8 text (invalid byte sequence within bytes ${this.offset}..${this.offset + bytes.length - 1})`);
    }
    this.offset += bytes.length;
    return this.split(text, false);
  }

  /** The whole input at once (already checked), as text. */
  decodeAll(bytes: Uint8Array): string {
    try {
      return this.decoder.decode(bytes);
    } catch {
      throw new UsageError(`${this.name}: not UTF-8 text (an invalid or truncated byte sequence)`);
    }
  }

  /** Ends the input; returns the last line if it had no line end. */
  end(): string[] {
    let text: string;
    try {
      text = this.decoder.decode();
    } catch {
      throw new UsageError(`${this.name}: not UTF-8 text (truncated sequence at the end)`);
    }
    return this.split(text, true);
  }

  get bytes(): number {
    return this.offset;
  }

  private split(text: string, final: boolean): string[] {
    const out: string[] = [];
    // Only the new text is searched for line ends: a long line arriving in small chunks stays linear.
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      let line = this.pending.length ? this.pending.join('') + text.slice(start, nl) : text.slice(start, nl);
      this.pending.length = 0;
      this.pendingLength = 0;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      out.push(line);
      this.lineNo++;
      start = nl + 1;
    }
    if (start < text.length) {
      this.pending.push(start === 0 ? text : text.slice(start));
      this.pendingLength += text.length - start;
    }
    if (this.pendingLength > this.maxLine) throw new UsageError(`${this.name}: line ${this.lineNo + 1} is longer than ${this.maxLine} characters`);
    if (final && this.pending.length) {
      out.push(this.pending.join(''));
      this.pending.length = 0;
      this.pendingLength = 0;
    }
    return out;
  }
}

function openInput(file: string, name: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    return fd;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    throw errnoMessage(e, name);
  }
}

function readInput(fd: number, buf: Uint8Array, name: string): number {
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    throw errnoMessage(e, name);
  }
}

/** Reads a file in chunks (or stdin for "-"), yielding its lines as they complete. */
export async function* readLines(file: string, io: CliIo, maxLine = MAX_INPUT_BYTES): AsyncGenerator<string, number, void> {
  const name = inputName(file);
  const lines = new Utf8Lines(name, maxLine);
  if (file === '-') {
    for await (const chunk of io.stdin()) for (const l of lines.push(chunk)) yield l;
  } else {
    const fd = openInput(file, name);
    try {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const n = readInput(fd, buf, name);
        if (n === 0) break;
        for (const l of lines.push(buf.subarray(0, n))) yield l;
      }
    } finally {
      closeSync(fd);
    }
  }
  for (const l of lines.end()) yield l;
  return lines.bytes;
}

/** Reads a whole input (at most `max` bytes) as text; empty or blank input is refused. */
export async function readText(file: string, io: CliIo, max = MAX_INPUT_BYTES): Promise<string> {
  const name = inputName(file);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const lines = new Utf8Lines(name, Infinity);
  const take = (b: Uint8Array) => {
    const nul = b.indexOf(0);
    if (nul >= 0) throw new UsageError(`${name}: binary input (NUL byte at offset ${size + nul}), expected UTF-8 text`);
    size += b.length;
    if (size > max) throw new UsageError(`${name}: larger than ${max} bytes`);
    chunks.push(b);
  };
  if (file === '-') {
    for await (const chunk of io.stdin()) take(chunk);
  } else {
    const fd = openInput(file, name);
    try {
      for (;;) {
        const buf = new Uint8Array(1 << 20);
        const n = readInput(fd, buf, name);
        if (n === 0) break;
        take(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (all.set(c, at), (at += c.length));
  const text = lines.decodeAll(all);
  if (text.trim() === '') throw new UsageError(`${name}: empty input`);
  return text;
}
