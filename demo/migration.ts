// Migration step-through: the migration bench (three CPUs, one multi-MSI endpoint moving from CPU 1
// to CPU 2) driven by hand — one guest step at a time, a message fired between any two steps, and
// where every fired message ended up.

import { MOVE_PROTOCOLS, type MoveProtocol } from '../firmware/affinity.js';
import type { MsiVectors } from '../src/hw/pci/msi-capability.js';
import { DEVICE_BDF, MigrationBench, NEW_CPU, OLD_CPU, type BenchMode } from '../src/migrate/bench.js';
import { fateOf } from '../src/migrate/fates.js';
import { chromeTrace, TraceRecorder } from '../src/trace/chrome-trace.js';
import { $, download, el } from './dom.js';

let bench: MigrationBench | null = null;
let recorder: TraceRecorder | null = null;
let finished = false;

export function setupMigration(): void {
  const proto = $<HTMLSelectElement>('#mig-protocol');
  for (const p of MOVE_PROTOCOLS) proto.append(el('option', { value: p }, p));
  proto.value = 'naive';
  const block = $<HTMLSelectElement>('#mig-block');
  for (const n of [1, 2, 4, 8, 16, 32]) block.append(el('option', { value: String(n) }, String(n)));
  block.value = '4';
  for (const id of ['#mig-protocol', '#mig-mode', '#mig-block', '#mig-pvm']) $(id).addEventListener('change', reset);
  $('#mig-reset').addEventListener('click', reset);
  $('#mig-step').addEventListener('click', () => step());
  $('#mig-run').addEventListener('click', () => {
    while (step()) {
      /* to the end */
    }
  });
  $('#mig-fire').addEventListener('click', () => {
    if (!bench) return;
    bench.fire(Number($<HTMLSelectElement>('#mig-fire-index').value));
    render();
  });
  $('#mig-trace').addEventListener('click', () => {
    if (recorder) download('irqslice-migrate-trace.json', JSON.stringify(chromeTrace([recorder])));
  });
  reset();
}

function reset(): void {
  const count = Number($<HTMLSelectElement>('#mig-block').value) as MsiVectors;
  const protocol = $<HTMLSelectElement>('#mig-protocol').value as MoveProtocol;
  const mode = $<HTMLSelectElement>('#mig-mode').value as BenchMode;
  bench = new MigrationBench({ protocol, mode, count, pvm: $<HTMLInputElement>('#mig-pvm').checked, is64: true, stale: 'free', schedule: 'eager' });
  recorder = new TraceRecorder(1, `irqslice migrate: ${protocol}, ${mode}, block of ${count} (demo)`);
  for (let c = 0; c < 3; c++) recorder.cpuTrack(c, c === OLD_CPU ? `CPU ${c} (old)` : c === NEW_CPU ? `CPU ${c} (new)` : `CPU ${c}`);
  recorder.deviceTrack(DEVICE_BDF);
  bench.recorder = recorder;
  finished = false;
  const fire = $<HTMLSelectElement>('#mig-fire-index');
  fire.replaceChildren(...Array.from({ length: count }, (_, i) => el('option', { value: String(i) }, `message ${i}`)));
  render();
}

/** One guest step; false when no CPU can progress. */
function step(): boolean {
  if (!bench || finished) return false;
  if (bench.step() === null) finished = true;
  render();
  return !finished;
}

function render(): void {
  if (!bench) return;
  const next = bench.program.peek();
  $('#mig-next').textContent = finished ? (bench.stuck ? 'stuck: steps left that can never run' : 'done: the program has finished') : next ? `next step on CPU ${OLD_CPU}: ${next.label}` : 'program done; pending interrupts may still be taken';
  $<HTMLButtonElement>('#mig-step').disabled = finished;
  // The device's MSI registers as they stand (what a message fired now would carry).
  const msi = bench.endpoint.msi!;
  const mme = msi.multipleMessageEnable;
  $('#mig-device').textContent = `device ${DEVICE_BDF}: MSI ${msi.enabled ? 'enabled' : 'disabled'}, address 0x${msi.address().toString(16)}, data 0x${msi.data().toString(16)}, MME ${mme} (${1 << mme} message(s))${bench.options.pvm ? `, mask 0x${msi.maskBits().toString(16)}` : ''}`;
  $('#mig-log').replaceChildren(...bench.trace.map((t) => el('li', { class: t.startsWith('device:') ? 'device' : '' }, t)));
  const rows = bench.fires.map((f) => {
    const fate = finished || f.services.length > 0 ? fateOf(f) : 'in flight';
    const where = f.services.map((s) => `CPU ${s.cpu} 0x${s.vector.toString(16)} → ${s.owner ?? 'no handler'}${s.reraised ? ' (re-raised)' : ''}`).join('; ') || (f.result === 'sent' ? 'not taken yet' : f.result);
    return el('tr', { 'data-fate': fate, 'data-index': String(f.index) }, el('td', {}, String(f.id)), el('td', {}, `message ${f.index}`), el('td', {}, f.after), el('td', {}, f.result), el('td', { class: 'where' }, where), el('td', { class: `fate ${fate.replace(' ', '-')}` }, fate));
  });
  $('#mig-fires').replaceChildren(...rows);
}
