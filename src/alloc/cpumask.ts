// CPU masks and bit lists in Linux cpulist syntax ("0-3,8", as printed by %*pbl and parsed by
// bitmap_parselist; the ":used/group" stride form is not supported).

import { MatrixError } from './errors.js';

/**
 * A set of CPUs as a bitmap of 32-bit words. A frozen mask (`freeze()`, or `VectorMatrix.mask()`)
 * no longer changes, so a matrix keeps it encoded in one of its engine's mask slots and passes it
 * without copying; its `words` must then not be written either.
 */
export class CpuMask {
  readonly words: Uint32Array;
  #frozen = false;
  /** The matrix that holds this (frozen) mask encoded, and in which slot (see VectorMatrix). */
  encodedIn: object | null = null;
  encodedSlot = 0;
  constructor(readonly nbits: number) {
    if (typeof nbits !== 'number' || !Number.isInteger(nbits) || nbits < 1 || nbits > 0x10_0000) {
      throw new MatrixError('EINVAL', `a CPU mask holds 1..1048576 CPUs, got ${typeof nbits === 'number' ? nbits : typeof nbits}`);
    }
    this.words = new Uint32Array(Math.max(1, Math.ceil(nbits / 32)));
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Makes the mask immutable; returns it. */
  freeze(): this {
    this.#frozen = true;
    return this;
  }

  static of(nbits: number, cpus: Iterable<number>): CpuMask {
    const m = new CpuMask(nbits);
    for (const c of cpus) m.set(c);
    return m;
  }

  static all(nbits: number): CpuMask {
    const m = new CpuMask(nbits);
    for (let c = 0; c < nbits; c++) m.set(c);
    return m;
  }

  /** Parses a cpulist such as "0-3,8"; every CPU must be < nbits. */
  static parse(text: string, nbits: number): CpuMask {
    if (typeof text !== 'string') throw new MatrixError('EINVAL', `a cpulist must be a string, got ${typeof text}`);
    const m = new CpuMask(nbits);
    const words = m.words;
    // Ranges are set a word at a time and never listed: a long cpulist costs its length, no more.
    forEachRange(text, (lo, hi) => {
      if (hi >= nbits) throw new MatrixError('EINVAL', `CPU ${hi} in "${quote(text)}" is beyond the ${nbits} possible CPUs`);
      const a = lo >>> 5;
      const b = hi >>> 5;
      const head = (0xffffffff << (lo & 31)) >>> 0;
      const tail = (0xffffffff >>> (31 - (hi & 31))) >>> 0;
      if (a === b) words[a]! |= head & tail;
      else {
        words[a]! |= head;
        if (b > a + 1) words.fill(0xffffffff, a + 1, b);
        words[b]! |= tail;
      }
    });
    return m;
  }

  set(cpu: number): void {
    if (this.#frozen) throw new MatrixError('EINVAL', `the mask ${quote(this.toString())} is frozen`);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nbits) {
      throw new MatrixError('EINVAL', `CPU ${typeof cpu === 'number' ? cpu : typeof cpu} is not in 0..${this.nbits - 1}`);
    }
    this.words[cpu >>> 5]! |= 1 << (cpu & 31);
  }

  has(cpu: number): boolean {
    return cpu >= 0 && cpu < this.nbits && ((this.words[cpu >>> 5]! >>> (cpu & 31)) & 1) === 1;
  }

  isEmpty(): boolean {
    return this.words.every((w) => w === 0);
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let c = 0; c < this.nbits; c++) if (this.has(c)) yield c;
  }

  toString(): string {
    return formatList(this);
  }
}

/** Parses "a-b,c" into inclusive ranges; throws MatrixError EINVAL on malformed text. */
export function parseList(text: string): Array<[number, number]> {
  if (typeof text !== 'string') throw new MatrixError('EINVAL', `a cpulist must be a string, got ${typeof text}`);
  const out: Array<[number, number]> = [];
  forEachRange(text, (lo, hi) => void out.push([lo, hi]));
  return out;
}

const isSpace = (c: string): boolean => c === ' ' || /\s/.test(c);
const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/**
 * Calls `fn(lo, hi)` for each range of a cpulist, in order, without splitting the text: the grammar
 * of parseList ("\s*N\s*(-\s*M\s*)?" between commas, surrounding whitespace ignored, "" = none).
 */
export function forEachRange(text: string, fn: (lo: number, hi: number) => void): void {
  let end = text.length;
  let i = 0;
  while (i < end && isSpace(text[i]!)) i++;
  while (end > i && isSpace(text[end - 1]!)) end--;
  if (i === end) return;
  const malformed = () => new MatrixError('EINVAL', `malformed cpulist "${quote(text)}"`);
  for (;;) {
    const partStart = i;
    while (i < end && isSpace(text[i]!)) i++;
    let s = i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === s) throw malformed();
    const lo = Number(text.slice(s, i));
    let hi = lo;
    while (i < end && isSpace(text[i]!)) i++;
    if (i < end && text[i] === '-') {
      i++;
      while (i < end && isSpace(text[i]!)) i++;
      s = i;
      while (i < end && isDigit(text.charCodeAt(i))) i++;
      if (i === s) throw malformed();
      hi = Number(text.slice(s, i));
      while (i < end && isSpace(text[i]!)) i++;
    }
    if (i < end && text[i] !== ',') throw malformed();
    if (hi < lo) throw new MatrixError('EINVAL', `descending range "${quote(text.slice(partStart, i).trim())}" in cpulist "${quote(text)}"`);
    fn(lo, hi);
    if (i === end) return;
    i++; // the comma: a part must follow
    if (i === end) throw malformed();
  }
}

/** Formats the set bits as a Linux bitmap list ("%*pbl"): ascending ranges, "" when empty. */
export function formatList(bits: Iterable<number>): string {
  if (bits == null || typeof (bits as Iterable<number>)[Symbol.iterator] !== 'function') {
    throw new MatrixError('EINVAL', `formatList takes CPU or bit numbers (an iterable), got ${bits === null ? 'null' : typeof bits}`);
  }
  const parts: string[] = [];
  let lo = -1;
  let prev = -2;
  for (const b of bits) {
    if (b === prev + 1) {
      prev = b;
      continue;
    }
    if (lo >= 0) parts.push(lo === prev ? `${lo}` : `${lo}-${prev}`);
    lo = prev = b;
  }
  if (lo >= 0) parts.push(lo === prev ? `${lo}` : `${lo}-${prev}`);
  return parts.join(',');
}

/** What the matrix API accepts as a mask: a cpulist string, CPU numbers, or a CpuMask. */
export type CpuMaskInput = string | Iterable<number> | CpuMask;

export function toCpuMask(input: CpuMaskInput, nbits: number): CpuMask {
  if (input instanceof CpuMask) {
    if (input.nbits > nbits) {
      for (let c = nbits; c < input.nbits; c++) {
        if (input.has(c)) throw new MatrixError('EINVAL', `CPU ${c} is beyond the ${nbits} possible CPUs`);
      }
    }
    return input;
  }
  if (typeof input === 'string') return CpuMask.parse(input, nbits);
  if (input == null || typeof (input as Iterable<number>)[Symbol.iterator] !== 'function') {
    throw new MatrixError('EINVAL', `a CPU mask must be a cpulist string, CPU numbers or a CpuMask`);
  }
  return CpuMask.of(nbits, input);
}

/** A cpulist as an error message quotes it: at most 80 characters, control characters escaped. */
function quote(text: string): string {
  const t = text.length > 80 ? `${text.slice(0, 60)}…(${text.length} characters)` : text;
  return t.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
