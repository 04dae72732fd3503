// The vector matrix as a heatmap: one row per CPU, one column per vector 0x20–0xFF, coloured by kind.
// Lines every 16 vectors (one priority class) and every 32 (the alignment a 32-message block needs);
// each multi-MSI block is outlined, green when its base is aligned to its size, red when it is not.

import type { VectorMap } from '../firmware/vector-map.js';

export const FIRST = 0x20;
export const LAST = 0xff;

export const KINDS: readonly { code: string; name: string; colour: string }[] = [
  { code: 's', name: 'system', colour: '#6b7280' },
  { code: 'l', name: 'legacy', colour: '#b45309' },
  { code: 'm', name: 'managed', colour: '#7c3aed' },
  { code: 'r', name: 'reserved', colour: '#fbbf24' },
  { code: '1', name: 'single', colour: '#2563eb' },
  { code: 'b', name: 'block', colour: '#16a34a' },
  { code: '.', name: 'free', colour: '#eef0f3' },
  { code: '-', name: 'unusable', colour: '#1f2937' },
];
const BY_CODE = new Map(KINDS.map((k) => [k.code, k]));

const LABEL_W = 56;
const HEAD_H = 18;
const CELL_W = 5;

export interface Heatmap {
  /** What is under a canvas point: CPU, vector, kind name, owner. */
  at(x: number, y: number): { cpu: number; vector: number; kind: string; owner: string | null } | null;
}

/** A message that arrived where it should not have: drawn as a red mark on the cell it hit. */
export interface Landing {
  cpu: number;
  vector: number;
  what: string;
}

export function drawHeatmap(canvas: HTMLCanvasElement, map: VectorMap, misrouted: readonly Landing[] = []): Heatmap {
  const cpus = map.cells.length;
  const cellH = Math.max(2, Math.min(18, Math.floor(560 / cpus)));
  const cols = LAST - FIRST + 1;
  const dpr = globalThis.devicePixelRatio || 1;
  const w = LABEL_W + cols * CELL_W + 2;
  const h = HEAD_H + cpus * cellH + 2;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const g = canvas.getContext('2d')!;
  g.scale(dpr, dpr);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  g.font = '10px ui-monospace, monospace';
  g.fillStyle = '#374151';
  g.textBaseline = 'middle';
  for (let v = FIRST; v <= LAST; v += 0x20) g.fillText(`0x${v.toString(16)}`, LABEL_W + (v - FIRST) * CELL_W + 1, HEAD_H / 2);
  const every = cellH >= 9 ? 1 : Math.ceil(9 / cellH) * (cpus > 64 ? 4 : 1);
  map.cells.forEach((row, cpu) => {
    const y = HEAD_H + cpu * cellH;
    if (cpu % every === 0) {
      g.fillStyle = '#374151';
      g.fillText(`CPU ${cpu}`, 2, y + cellH / 2);
    }
    for (let v = FIRST; v <= LAST; v++) {
      g.fillStyle = BY_CODE.get(row[v] ?? '.')?.colour ?? '#f0f';
      g.fillRect(LABEL_W + (v - FIRST) * CELL_W, y, CELL_W - (CELL_W > 3 ? 1 : 0), cellH - (cellH > 4 ? 1 : 0));
    }
  });
  // The windows: 16-vector priority classes (thin) and 32-vector alignment windows (thick).
  for (let v = FIRST; v <= LAST + 1; v += 0x10) {
    g.fillStyle = v % 0x20 === 0 ? 'rgba(17,24,39,0.55)' : 'rgba(17,24,39,0.18)';
    g.fillRect(LABEL_W + (v - FIRST) * CELL_W - 1, HEAD_H - 4, v % 0x20 === 0 ? 1.5 : 1, cpus * cellH + 4);
  }
  for (const b of map.blocks) {
    const aligned = b.base % b.size === 0;
    g.strokeStyle = aligned ? '#14532d' : '#dc2626';
    g.lineWidth = aligned ? 1.5 : 2.5;
    g.strokeRect(LABEL_W + (b.base - FIRST) * CELL_W - 0.5, HEAD_H + b.cpu * cellH - 0.5, b.size * CELL_W, cellH);
  }
  g.fillStyle = '#dc2626';
  for (const m of misrouted) {
    if (m.cpu < 0 || m.cpu >= cpus || m.vector < FIRST) continue;
    const x = LABEL_W + (m.vector - FIRST) * CELL_W;
    const y = HEAD_H + m.cpu * cellH;
    g.fillRect(x, y + Math.floor(cellH / 2) - 1, CELL_W - 1, Math.max(2, Math.floor(cellH / 3)));
  }
  const owners = new Map(map.owners.map(([c, v, o]) => [c * 256 + v, o]));
  const landed = new Map<number, string[]>();
  for (const m of misrouted) landed.set(m.cpu * 256 + m.vector, [...(landed.get(m.cpu * 256 + m.vector) ?? []), m.what]);
  return {
    at(x, y) {
      const cpu = Math.floor((y - HEAD_H) / cellH);
      const vector = FIRST + Math.floor((x - LABEL_W) / CELL_W);
      if (cpu < 0 || cpu >= cpus || vector < FIRST || vector > LAST) return null;
      const code = map.cells[cpu]![vector] ?? '.';
      const block = map.blocks.find((b) => b.cpu === cpu && vector >= b.base && vector < b.base + b.size);
      let owner = owners.get(cpu * 256 + vector) ?? null;
      if (owner === null && block) owner = `${block.bdf} (block tail, no handler)`;
      if (owner === null && code === '1') owner = 'another driver';
      const kind = BY_CODE.get(code)?.name ?? code;
      const hits = landed.get(cpu * 256 + vector);
      if (hits) owner = `${owner ?? 'no handler'}; misrouted here: ${hits.join(', ')}`;
      return { cpu, vector, kind: block ? `${kind}, block of ${block.size} at 0x${block.base.toString(16)}${block.base % block.size ? ' (NOT aligned)' : ' (aligned)'}` : kind, owner };
    },
  };
}
