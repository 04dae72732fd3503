// The fresh process of the snapshot test (bundled by it with esbuild and run with node): builds a
// machine from a JSON spec, loads a JSON state, drives the JSON workload and writes what it saw.
// argv: IN.json ({ spec, state, ops }) OUT.json ({ reloaded, observations, final }).
import { readFileSync, writeFileSync } from 'node:fs';
import { buildMachine, drive, type MachineSpec, type TrafficOp } from './snapshot-traffic.js';

const [input, output] = process.argv.slice(2) as [string, string];
const { spec, state, ops } = JSON.parse(readFileSync(input, 'utf8')) as { spec: MachineSpec; state: unknown; ops: TrafficOp[] };
const machine = buildMachine(spec);
machine.loadState(state);
const reloaded = machine.saveState();
const observations = drive(machine, ops);
writeFileSync(output, JSON.stringify({ reloaded, observations, final: machine.saveState() }));
