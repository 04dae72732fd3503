// Snapshots of a RemappingUnit (format 'irqslice.vtd/1'): plain JSON with named fields, 64-bit registers
// as hex strings, the IRTE cache included (stale entries are state). loadState refuses, with the path of the
// field, anything no register sequence can produce on a unit of the same configuration.
import { describeValue } from '../describe.js';
import { RemappingStateError } from './errors.js';
import type { FaultLog, FaultLogState, FaultRecordState } from './fault-log.js';
import type { InvalidationQueue } from './invalidation-queue.js';
import { irteHasReservedBits, IRTE_P } from './irte.js';
import * as R from './registers.js';
import type { RemappingCounters, RemappingUnitConfig } from './types.js';

export const VTD_STATE_FORMAT = 'irqslice.vtd/1';

export interface RemappingUnitState {
  format: typeof VTD_STATE_FORMAT;
  config: RemappingUnitConfig;
  gsts: number;
  rtaddr: string;
  ccmd: string;
  irta: string;
  /** What the last SIRTP latched. */
  table: { base: string; entries: number; eime: boolean };
  queue: { iqa: string; head: number; tail: number; ics: number; iectl: number; iedata: number; ieaddr: number; ieuaddr: number };
  faults: FaultLogState;
  /** Cached IRTEs by index (low = bits 63:0, high = bits 127:64). */
  cache: { index: number; low: string; high: string }[];
  counters: RemappingCounters;
}

/** The registers of the unit itself, as saveUnitState reads and loadUnitState writes them. */
export interface UnitRegisters {
  gsts: number;
  rtaddrLo: number;
  rtaddrHi: number;
  ccmdLo: number;
  ccmdHi: number;
  irtaLo: number;
  irtaHi: number;
  tableLo: number;
  tableHi: number;
  tableEntries: number;
  eime: boolean;
  counters: RemappingCounters;
}

export interface UnitInternals {
  config: Readonly<RemappingUnitConfig>;
  faultLog: FaultLog;
  queue: InvalidationQueue;
  cache: Map<number, Uint32Array>;
  get(): UnitRegisters;
  set(r: UnitRegisters): void;
}

const hex64 = (hi: number, lo: number): string => `0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)}`;

export function saveUnitState(u: UnitInternals): RemappingUnitState {
  const r = u.get();
  const q = u.queue.save();
  const cache = [...u.cache.entries()].sort((a, b) => a[0] - b[0]).map(([index, e]) => ({ index, low: hex64(e[1]!, e[0]!), high: hex64(0, e[2]!) }));
  return {
    format: VTD_STATE_FORMAT,
    config: { ...u.config },
    gsts: r.gsts,
    rtaddr: hex64(r.rtaddrHi, r.rtaddrLo),
    ccmd: hex64(r.ccmdHi, r.ccmdLo),
    irta: hex64(r.irtaHi, r.irtaLo),
    table: { base: hex64(r.tableHi, r.tableLo), entries: r.tableEntries, eime: r.eime },
    queue: { iqa: hex64(q.iqaHi, q.iqaLo), head: q.head, tail: q.tail, ics: q.ics, iectl: q.iectl, iedata: q.iedata, ieaddr: q.ieaddr, ieuaddr: q.ieuaddr },
    faults: u.faultLog.save(),
    cache,
    counters: r.counters,
  };
}

const GSTS_KNOWN = (R.GCMD_LASTING | R.GCMD_SRTP | R.GCMD_SIRTP) >>> 0;
const COUNTER_KEYS = ['requests', 'translated', 'passedThrough', 'blocked', 'faults', 'recorded', 'suppressed', 'overflowed', 'lost', 'cacheHits', 'cacheMisses', 'iecGlobal', 'iecIndexed', 'iecEntriesDropped', 'waits', 'otherDescriptors', 'queueErrors', 'faultEvents', 'completionEvents'];

class Checker {
  constructor(private readonly path: string) {}
  fail(why: string, field = ''): never {
    throw new RemappingStateError(field ? `${this.path}${this.path ? '.' : ''}${field}` : this.path || 'state', why);
  }
  at(field: string): Checker {
    return new Checker(this.path ? `${this.path}.${field}` : field);
  }
  object(v: unknown, keys: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`must be an object, got ${describeValue(v)}`);
    for (const k of Object.keys(v as object)) if (!keys.includes(k)) this.fail('unknown field', k);
    for (const k of keys) if (!(k in (v as object))) this.fail('missing', k);
    return v as Record<string, unknown>;
  }
  int(v: unknown, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(`must be an integer in ${lo}..${hi}, got ${describeValue(v)}`);
    return v as number;
  }
  u32(v: unknown, allowed = 0xffff_ffff): number {
    const n = this.int(v, 0, 0xffff_ffff);
    if ((n & ~allowed) >>> 0 !== 0) this.fail(`sets bits outside 0x${allowed.toString(16)}: 0x${n.toString(16)}`);
    return n;
  }
  bool(v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(`must be a boolean, got ${describeValue(v)}`);
    return v as boolean;
  }
  /** A 64-bit hex string → [hi, lo]. */
  hex64(v: unknown): [number, number] {
    if (typeof v !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(v)) this.fail(`must be a hex string 0x… of at most 64 bits, got ${describeValue(v)}`);
    const n = BigInt(v as string);
    return [Number(n >> 32n), Number(n & 0xffff_ffffn)];
  }
}

export function loadUnitState(u: UnitInternals, state: unknown): void {
  const root = new Checker('');
  const s = root.object(state, ['format', 'config', 'gsts', 'rtaddr', 'ccmd', 'irta', 'table', 'queue', 'faults', 'cache', 'counters']);
  if (s.format !== VTD_STATE_FORMAT) root.fail(`must be '${VTD_STATE_FORMAT}', got ${describeValue(s.format)}`, 'format');
  const cfg = root.at('config').object(s.config, ['eim', 'mhmv', 'qi', 'faultRecords', 'esirtps']);
  for (const k of Object.keys(u.config) as (keyof RemappingUnitConfig)[]) {
    if (cfg[k] !== u.config[k]) root.at('config').fail(`${describeValue(cfg[k])} ≠ this unit's ${describeValue(u.config[k])}`, k);
  }
  const gsts = root.at('gsts').u32(s.gsts, GSTS_KNOWN);
  if (gsts & R.GCMD_QIE && !u.config.qi) root.fail('QIES set on a unit without ECAP.QI', 'gsts');
  const [rtHi, rtLo] = root.at('rtaddr').hex64(s.rtaddr);
  const [ccHi, ccLo] = root.at('ccmd').hex64(s.ccmd);
  const [irHi, irLo] = root.at('irta').hex64(s.irta);
  if ((irLo & ~R.IRTA_LO_WRITABLE) >>> 0) root.fail('sets reserved bits 10:4', 'irta');
  const tc = root.at('table');
  const t = tc.object(s.table, ['base', 'entries', 'eime']);
  const [tbHi, tbLo] = tc.at('base').hex64(t.base);
  if (tbLo & 0xfff) tc.fail('must be 4 KiB aligned', 'base');
  const entries = tc.at('entries').int(t.entries, 0, 65536);
  if (entries !== 0 && (entries & (entries - 1)) !== 0) tc.fail('must be 0 (no SIRTP yet) or a power of two 2..65536', 'entries');
  if (entries === 1) tc.fail('must be 0 or 2^(S+1), S = 0..15', 'entries');
  if ((entries === 0) !== !(gsts & R.GCMD_SIRTP)) tc.fail('a latched table goes with GSTS.IRTPS and only with it', 'entries');
  const eime = tc.at('eime').bool(t.eime);
  if (eime && !u.config.eim) tc.fail('EIME latched on a unit without ECAP.EIM', 'eime');

  const qc = root.at('queue');
  const q = qc.object(s.queue, ['iqa', 'head', 'tail', 'ics', 'iectl', 'iedata', 'ieaddr', 'ieuaddr']);
  const [iqHi, iqLo] = qc.at('iqa').hex64(q.iqa);
  if ((iqLo & ~R.IQA_LO_WRITABLE) >>> 0) qc.fail('sets reserved bits 10:3', 'iqa');
  const wide = (iqLo & R.IQA_DW) !== 0;
  const ringEntries = 1 << ((iqLo & R.IQA_QS_MASK) + (wide ? 7 : 8));
  const head = qc.at('head').int(q.head, 0, ringEntries - 1);
  if (!(gsts & R.GCMD_QIE) && head !== 0) qc.fail('must be 0 while queued invalidation is off', 'head');
  const tail = qc.at('tail').u32(q.tail, R.IQ_INDEX_MASK);
  const ics = qc.at('ics').u32(q.ics, R.ICS_IWC);
  const iectl = qc.at('iectl').u32(q.iectl, (R.CTL_IM | R.CTL_IP) >>> 0);
  const iedata = qc.at('iedata').u32(q.iedata);
  const ieaddr = qc.at('ieaddr').u32(q.ieaddr, 0xffff_fffc);
  const ieuaddr = qc.at('ieuaddr').u32(q.ieuaddr);
  if (iectl & R.CTL_IP && !(ics & R.ICS_IWC)) qc.fail('IP without IWC', 'iectl');

  const fc = root.at('faults');
  const f = fc.object(s.faults, ['records', 'status', 'fri', 'next', 'fectl', 'fedata', 'feaddr', 'feuaddr']);
  const n = u.config.faultRecords;
  if (!Array.isArray(f.records) || f.records.length !== n) fc.fail(`must list ${n} records`, 'records');
  const records: FaultRecordState[] = (f.records as unknown[]).map((rec, i) => {
    const rc = fc.at(`records[${i}]`);
    const r = rc.object(rec, ['index', 'sourceId', 'reason', 'pending']);
    return { index: rc.at('index').int(r.index, 0, 0xffff), sourceId: rc.at('sourceId').int(r.sourceId, 0, 0xffff), reason: rc.at('reason').int(r.reason, 0, 0xff), pending: rc.at('pending').bool(r.pending) };
  });
  const status = fc.at('status').u32(f.status, R.FSTS_RW1C & ~(R.FSTS_ICE | R.FSTS_ITE));
  const fri = fc.at('fri').int(f.fri, 0, n - 1);
  const next = fc.at('next').int(f.next, 0, n - 1);
  const fectl = fc.at('fectl').u32(f.fectl, (R.CTL_IM | R.CTL_IP) >>> 0);
  const anyPending = records.some((r) => r.pending);
  if (fectl & R.CTL_IP && !anyPending && !status) fc.fail('IP with no fault condition pending', 'fectl');
  const faults: FaultLogState = {
    records, status, fri, next, fectl,
    fedata: fc.at('fedata').u32(f.fedata), feaddr: fc.at('feaddr').u32(f.feaddr, 0xffff_fffc), feuaddr: fc.at('feuaddr').u32(f.feuaddr),
  };

  if (!Array.isArray(s.cache)) root.fail('must be an array', 'cache');
  const cache = new Map<number, Uint32Array>();
  (s.cache as unknown[]).forEach((c, i) => {
    const cc = root.at(`cache[${i}]`);
    const e = cc.object(c, ['index', 'low', 'high']);
    const index = cc.at('index').int(e.index, 0, Math.max(0, entries - 1));
    if (entries === 0) cc.fail('no table has been latched', 'index');
    if (cache.has(index)) cc.fail('duplicate index', 'index');
    const [w1, w0] = cc.at('low').hex64(e.low);
    const [w3, w2] = cc.at('high').hex64(e.high);
    if (!(w0 & IRTE_P) || irteHasReservedBits(w0, w1, w2, w3, eime)) cc.fail('only present, well-formed IRTEs are cached');
    cache.set(index, Uint32Array.of(w0, w1, w2));
  });

  const kc = root.at('counters');
  const k = kc.object(s.counters, COUNTER_KEYS);
  const counters = {} as Record<string, unknown>;
  for (const key of COUNTER_KEYS) {
    if (key === 'faults') {
      const names = Object.values(R.FAULT_NAMES);
      const fo = kc.at('faults').object(k.faults, names);
      counters.faults = Object.fromEntries(names.map((nm) => [nm, kc.at('faults').at(nm).int(fo[nm], 0, Number.MAX_SAFE_INTEGER)]));
    } else counters[key] = kc.at(key).int(k[key], 0, Number.MAX_SAFE_INTEGER);
  }

  // Everything checked: apply.
  u.set({
    gsts, rtaddrLo: rtLo, rtaddrHi: rtHi, ccmdLo: ccLo, ccmdHi: ccHi & 0x7fff_ffff, irtaLo: irLo, irtaHi: irHi,
    tableLo: tbLo, tableHi: tbHi, tableEntries: entries, eime, counters: counters as unknown as RemappingCounters,
  });
  u.queue.load({ iqaLo: iqLo, iqaHi: iqHi, tail, head, enabled: (gsts & R.GCMD_QIE) !== 0, ics, iectl, iedata, ieaddr, ieuaddr });
  u.faultLog.load(faults);
  u.cache.clear();
  for (const [i, e] of cache) u.cache.set(i, e);
}
