// What every benchmark part receives and returns.

import type { Output } from './output.js';
import type { MachineInfo } from './machine-info.js';

export type Mode = 'quick' | 'full';

export interface PartContext {
  mode: Mode;
  machine: MachineInfo;
  out: Output;
  wasmModule: WebAssembly.Module;
  /** Rounds of side-by-side measurement (order rotated each round). */
  rounds: number;
}

export interface PartResult {
  /** Markdown for bench/README.md (a section with its own heading). */
  markdown: string;
  /** One line per target: what was measured against it. */
  targets: TargetLine[];
}

export interface TargetLine {
  target: string;
  measured: string;
  met: boolean | null;
}
