// Command-line parsing for irqslice, strict by design: every option is declared with the modes it
// applies to, a value option takes the next argument whatever it starts with ("--load -0.5" is a
// value to range-check, not an option), "-" is a positional (standard input), and anything unknown,
// repeated, missing or left over is a UsageError.

import { quote, UsageError } from './io.js';

export interface OptionSpec {
  /** Long name without the dashes. */
  name: string;
  /** Placeholder of the value; absent for a flag. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string[];
  options: readonly OptionSpec[];
  /** Most positional arguments accepted, and what they are called in messages. */
  positionals: { max: number; name: string };
  /** Text appended to the help (grammar, examples). */
  more?: string;
}

export interface ParsedArgs {
  /** Option name → value ('' is a real value; flags map to true). */
  options: Map<string, string | true>;
  positionals: string[];
  help: boolean;
}

export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const o = byName.get(name);
      if (!o) throw new UsageError(`unknown option ${quote(eq < 0 ? a : a.slice(0, eq))}${suggest(name, spec)}`);
      if (options.has(name)) throw new UsageError(`--${name} given more than once`);
      if (o.value === undefined) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value, got ${quote(a.slice(eq + 1))}`);
        options.set(name, true);
      } else if (eq >= 0) {
        options.set(name, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value (${o.value})`);
        options.set(name, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${quote(a)}`);
    positionals.push(a);
  }
  if (!help && positionals.length > spec.positionals.max) {
    const extra = positionals.slice(spec.positionals.max).map((p) => quote(p)).join(' ');
    throw new UsageError(spec.positionals.max === 0 ? `takes no positional arguments, got ${extra}` : `takes one ${spec.positionals.name}, got also ${extra}`);
  }
  return { options, positionals, help };
}

function suggest(name: string, spec: CommandSpec): string {
  const lower = name.toLowerCase().replace(/_/g, '-');
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const o of spec.options) if (o.name === lower || o.name === kebab) return ` (did you mean --${o.name}?)`;
  return ` for irqslice ${spec.name} (see irqslice ${spec.name} --help)`;
}

/** The help text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const w = Math.max(...spec.options.map((o) => o.name.length + (o.value ? o.value.length + 1 : 0))) + 4;
  const lines = [`irqslice ${spec.name}: ${spec.summary}`, '', 'Usage:', ...spec.usage.map((u) => `  ${u}`), '', 'Options:'];
  for (const o of spec.options) lines.push(`  ${`--${o.name}${o.value ? ` ${o.value}` : ''}`.padEnd(w)}${o.help}`);
  lines.push(`  ${'-h, --help'.padEnd(w)}this help`);
  if (spec.more) lines.push('', spec.more.trimEnd());
  return lines.join('\n') + '\n';
}

// ---- values -------------------------------------------------------------------------------------

/** "a, b or c". */
function alternatives(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** One of `allowed`; a list or an unknown value is refused. */
export function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (v.includes(',')) throw new UsageError(`--${name} takes one value (${alternatives(allowed)}), got the list ${quote(v)}`);
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be ${alternatives(allowed)}, got ${quote(v)}`);
  return v as T;
}

/** A comma-separated list of distinct items from `allowed`; `all` (and `both`, if given) name every one. */
export function listOf<T extends string>(name: string, v: string, allowed: readonly T[], both?: string): T[] {
  if (v === 'all' || (both !== undefined && v === both)) return [...allowed];
  const items = v.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  for (const s of items) {
    if (!allowed.includes(s as T)) {
      throw new UsageError(`--${name} must be ${alternatives([...allowed, ...(both ? [both] : ['all'])])}${items.length > 1 ? ' (comma-separated)' : ''}, got ${quote(s)}`);
    }
    if (seen.has(s)) throw new UsageError(`--${name} lists ${s} twice`);
    seen.add(s);
  }
  return items as T[];
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function number(name: string, s: string, lo: number, hi: number, integer: boolean, what: string): number {
  const t = s.trim();
  if (!(integer ? INTEGER : DECIMAL).test(t)) {
    throw new UsageError(`--${name} takes ${integer ? 'integers' : 'decimal numbers'}${what}, got ${quote(s)}`);
  }
  const n = Number(t);
  if (!(n >= lo && n <= hi)) throw new UsageError(`--${name}: ${t} is out of range ${lo}..${hi}`);
  return n === 0 ? 0 : n; // -0 → 0
}

/** One integer in lo..hi (decimal digits only: no hex, exponent, fraction or list). */
export function intValue(name: string, v: string, lo: number, hi: number): number {
  if (v.includes(',')) throw new UsageError(`--${name} takes one integer, got the list ${quote(v)}`);
  return number(name, v, lo, hi, true, '');
}

/** One decimal number in lo..hi. */
export function numberValue(name: string, v: string, lo: number, hi: number): number {
  if (v.includes(',')) throw new UsageError(`--${name} takes one number, got the list ${quote(v)}`);
  return number(name, v, lo, hi, false, '');
}

/** A comma-separated list of distinct numbers in lo..hi. */
export function numberList(name: string, v: string, lo: number, hi: number, integer: boolean): number[] {
  const out = v.split(',').map((s) => number(name, s, lo, hi, integer, ' (comma-separated)'));
  const seen = new Set<number>();
  for (const n of out) {
    if (seen.has(n)) throw new UsageError(`--${name} lists ${n} twice`);
    seen.add(n);
  }
  return out;
}
