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
  private pending = '';
  private lineNo = 0;
  constructor(private readonly name: string, private readonly maxLine = MAX_INPUT_BYTES) {}

  /** Feeds bytes; returns the complete lines they finish (without their line ends). */
  push(bytes: Uint8Array): string[] {
    const nul = bytes.indexOf(0);
    if (nul >= 0) throw new UsageError(`${this.name}: binary input (NUL byte at offset ${this.offset + nul}), expected UTF-8 text`);
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream: true });
    } catch {
      throw new UsageError(`${this.name}: not UTF-8 text (invalid byte sequence within bytes ${this.offset}..${this.offset + bytes.length - 1})`);
    }
    this.offset += bytes.length;
    return this.split(text, false);
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
    let s = this.pending + text;
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      const end = nl > start && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      out.push(s.slice(start, end));
      this.lineNo++;
      start = nl + 1;
    }
    s = s.slice(start);
    if (s.length > this.maxLine) throw new UsageError(`${this.name}: line ${this.lineNo + 1} is longer than ${this.maxLine} characters`);
    if (final) {
      if (s.length > 0) out.push(s);
      s = '';
    }
    this.pending = s;
    return out;
  }
}

/** Reads a file in chunks (or stdin for "-"), yielding its lines as they complete. */
export async function* readLines(file: string, io: CliIo, maxLine = MAX_INPUT_BYTES): AsyncGenerator<string, number, void> {
  const name = inputName(file);
  const lines = new Utf8Lines(name, maxLine);
  if (file === '-') {
    for await (const chunk of io.stdin()) for (const l of lines.push(chunk)) yield l;
  } else {
    let fd: number;
    try {
      fd = openSync(file, 'r');
      if (fstatSync(fd).isDirectory()) {
        closeSync(fd);
        throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      }
    } catch (e) {
      throw errnoMessage(e, name);
    }
    try {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          throw errnoMessage(e, name);
        }
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

/** Reads a whole input (at most MAX_INPUT_BYTES) as text; empty or blank input is refused. */
export async function readText(file: string, io: CliIo, max = MAX_INPUT_BYTES): Promise<string> {
  const name = inputName(file);
  const parts: string[] = [];
  let size = 0;
  const gen = readLines(file, io, max);
  for (;;) {
    const r = await gen.next();
    if (r.done) break;
    size += r.value.length + 1;
    if (size > max) throw new UsageError(`${name}: larger than ${max} bytes`);
    parts.push(r.value);
  }
  const text = parts.join('\n');
  if (text.trim() === '') throw new UsageError(`${name}: empty input`);
  return text;
}
