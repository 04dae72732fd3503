// A hostile tester's corpus against `irqslice run | matrix | migrate`: malformed, extreme and
// conflicting invocations. Invalid input → exit 2 with exactly one stderr line naming the input and
// the problem (no stack trace, no raw bytes); a failed probe → exit 1; valid → 0. Every case runs
// in-process through main(); a sample also runs as the built bundle in a real process.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUsageError, fixtureDir, root, runBundle, runInProcess, type Invocation, type Outcome } from './harness.js';

const sc = (o: object) => JSON.stringify(o);
const dev = (bdf: string, extra: object = {}) => ({ bdf, msi: { vectors: 4 }, ...extra });
const ok1 = sc({ cpus: 1, devices: [dev('00:03.0')] });
const pkgVersion = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const SETUP = 'preset x86\ncpus 2\nonline 0\nonline 1\n';

const D = fixtureDir({
  'ok.json': ok1,
  'bom.json': `\ufeff${ok1}`,
  'crlf.json': ok1.replace(/,/g, ',\r\n'),
  'empty.json': '',
  'blank.json': ' \n\t\n',
  'garbage.json': 'this is not json',
  'latin1.json': Uint8Array.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]),
  'utf16.json': Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
  'png.json': Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x1b, 0x5b, 0x32, 0x4a]),
  'deep.json': '['.repeat(200_000) + ']'.repeat(200_000),
  'deep-object.json': '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
  'huge-lines.json': `{"cpus": 1, "devices": [], "description": "x"${'\n'.repeat(5 * 1024 * 1024)}}`,
  'huge.json': sc({ cpus: 1, devices: [], description: 'x'.repeat(5 * 1024 * 1024) }),
  'script.txt': `${SETUP}alloc 0-1\n`,
  'script-bom.txt': `\ufeff${SETUP}alloc 0\n`,
  'script-crlf.txt': `${SETUP}alloc 0\n`.replace(/\n/g, '\r\n'),
  'script-nul.txt': `${SETUP}alloc\u00000\n`,
  'script-comments.txt': '# nothing but a comment\n',
  'file': 'a regular file',
});
const F = (name: string) => path.join(D, name);

interface Case extends Invocation {
  name: string;
  status: 0 | 1 | 2;
  /** stderr (exit 2) or stdout (exit 0/1) must match. */
  match?: RegExp;
}

const usage = (name: string, argv: string[], match?: RegExp, extra: Partial<Case> = {}): Case => ({ name, argv, status: 2, ...(match ? { match } : {}), ...extra });
const runStdin = (name: string, stdin: string | Uint8Array, match?: RegExp): Case => usage(name, ['run', '-'], match, { stdin });
const badScenario = (name: string, raw: unknown, match: RegExp): Case => runStdin(name, typeof raw === 'string' ? raw : sc(raw as object), match);

const general: Case[] = [
  usage('no command', [], /missing command/),
  usage('unknown command', ['bogus'], /unknown command "bogus"/),
  usage('commands are case-sensitive', ['RUN'], /unknown command "RUN"/),
  usage('empty command', [''], /unknown command ""/),
  usage('a lone dash as the command', ['-'], /unknown command "-"/),
  usage('an option before the command', ['--json', 'run'], /unknown option "--json"/),
  usage('prototype key as a command: __proto__', ['__proto__'], /unknown command/),
  usage('prototype key as a command: constructor', ['constructor'], /unknown command/),
  usage('prototype key as a command: toString', ['toString'], /unknown command/),
  usage('terminal escape in the command is escaped', ['\u001b[2J\u001b[31mred'], /unknown command "\\u001b\[2J/),
  usage('newline in the command stays on one line', ['run\nmatrix'], /unknown command "run\\nmatrix"/),
  usage('help for an unknown command', ['help', 'bogus'], /no help for "bogus"/),
  usage('help for a prototype key', ['help', '__proto__'], /no help/),
  usage('help with two commands', ['help', 'run', 'matrix'], /at most one command/),
  usage('--version with arguments', ['--version', 'run'], /takes no arguments/),
  { name: 'help', argv: ['help'], status: 0, match: /Usage:[\s\S]*irqslice run[\s\S]*irqslice matrix[\s\S]*irqslice migrate/ },
  { name: '--help', argv: ['--help'], status: 0, match: /Exit status: 0 success, 1 a probe or check failed, 2 bad usage/ },
  { name: '-h', argv: ['-h'], status: 0, match: /Usage:/ },
  { name: 'help run', argv: ['help', 'run'], status: 0, match: /--policy LIST/ },
  { name: 'help matrix shows the grammar', argv: ['help', 'matrix'], status: 0, match: /alloc_block MASK COUNT \[reserved\]/ },
  { name: 'help migrate', argv: ['help', 'migrate'], status: 0, match: /--max-runs N/ },
  { name: 'run --help', argv: ['run', '--help'], status: 0, match: /irqslice run \[SCENARIO\.json\|-\]/ },
  { name: 'matrix -h', argv: ['matrix', '-h'], status: 0, match: /Script grammar|Matrix script/ },
  { name: '--version', argv: ['--version'], status: 0, match: new RegExp(`^irqslice ${pkgVersion.replace(/\./g, '\\.')}\\n$`) },
  { name: '-v', argv: ['-v'], status: 0, match: new RegExp(`^irqslice ${pkgVersion.replace(/\./g, '\\.')}\\n$`) },
  { name: 'version', argv: ['version'], status: 0, match: /^irqslice \d+\.\d+\.\d+/ },
];

const runArgs: Case[] = [
  usage('two scenario files', ['run', F('ok.json'), F('ok.json')], /takes one SCENARIO, got also/),
  usage('stdin twice', ['run', '-', '-'], /takes one SCENARIO/),
  usage('extra positional after --', ['run', F('ok.json'), '--', 'x'], /got also "x"/),
  usage('--json twice', ['run', '--json', '--json'], /--json given more than once/),
  usage('--json with a value', ['run', '--json=yes'], /--json takes no value/),
  usage('--policy without a value', ['run', '--policy'], /--policy needs a value/),
  usage('--policy empty', ['run', '--policy='], /--policy must be aligned, linux, linux-ir, freebsd, freebsd-legacy or all, got ""/),
  usage('--policy unknown', ['run', '--policy', 'windows'], /got "windows"/),
  usage('--policy trailing comma', ['run', '--policy', 'aligned,'], /got ""/),
  usage('--policy repeated in the list', ['run', '--policy', 'aligned,aligned'], /lists aligned twice/),
  usage('--policy upper case', ['run', '--policy', 'ALIGNED'], /got "ALIGNED"/),
  usage('--policy given twice', ['run', '--policy', 'aligned', '--policy', 'linux'], /given more than once/),
  usage('--policy value that looks like an option', ['run', '--policy', '--json'], /--policy must be .* got "--json"/),
  usage('--engine unknown', ['run', '--engine', 'gpu'], /--engine must be wasm or js, got "gpu"/),
  usage('--engine as a list', ['run', '--engine', 'js,wasm'], /takes one value/),
  usage('--engine negative', ['run', '--engine', '-1'], /got "-1"/),
  usage('--engine missing its value', ['run', '--engine'], /needs a value/),
  usage('a migrate option on run', ['run', '--load', '-0.5'], /unknown option "--load" for irqslice run/),
  usage('a short option', ['run', '-x'], /unknown option "-x"/),
  usage('a negative number as a positional', ['run', '-0.5'], /unknown option "-0.5"/),
  usage('a negated flag', ['run', '--no-json'], /unknown option "--no-json"/),
  usage('camelCase of an option', ['migrate', '--pvmShare', '0.5'], /did you mean --pvm-share/),
  usage('option names are case-sensitive', ['run', '--JSON'], /unknown option "--JSON"/),
  usage('a triple dash', ['run', '---json'], /unknown option/),
  usage('a directory', ['run', path.join(D, 'a-directory')], /cannot read .*a-directory: is a directory/),
  usage('a missing file', ['run', F('nope.json')], /cannot read .*nope\.json: no such file/),
  usage('a path through a file', ['run', path.join(F('file'), 'x.json')], /not a directory/),
  usage('a path too long', ['run', 'x'.repeat(5000)], /cannot read "x+…\(5000 chars\)…x+": the path is too long/),
  usage('a path with a newline is quoted', ['run', `${D}/bad\nname.json`], /cannot read ".*bad\\nname\.json": no such file/),
  usage('/dev/null is empty', ['run', '/dev/null'], /\/dev\/null: empty input/),
  usage('/dev/zero is binary', ['run', '/dev/zero'], /\/dev\/zero: binary input \(NUL byte at offset 0\)/),
  usage('/proc/self/mem cannot be read', ['run', '/proc/self/mem'], /cannot read \/proc\/self\/mem: .*EIO/),
  usage('an empty file', ['run', F('empty.json')], /empty\.json: empty input/),
  usage('a blank file', ['run', F('blank.json')], /blank\.json: empty input/),
  usage('a file of prose', ['run', F('garbage.json')], /invalid scenario .*garbage\.json: \(json\): Unexpected token/),
  usage('a Latin-1 file', ['run', F('latin1.json')], /latin1\.json: not UTF-8 text/),
  usage('a UTF-16 file', ['run', F('utf16.json')], /utf16\.json: (not UTF-8 text|binary input)/),
  usage('a PNG', ['run', F('png.json')], /png\.json: binary input \(NUL byte at offset 8\)/),
  usage('JSON nested 200000 deep', ['run', F('deep.json')], /invalid scenario .*deep\.json: \(scenario\): must be a JSON object/),
  usage('a 5 MB scenario', ['run', F('huge.json')], /huge\.json: larger than 4194304 bytes/),
  usage('a 5 MB scenario over many lines', ['run', F('huge-lines.json')], /huge-lines\.json: larger than 4194304 bytes/),
  { name: 'a scenario with a UTF-8 BOM', argv: ['run', F('bom.json'), '--json'], status: 0, match: /"ok": true/ },
  { name: 'a scenario with CRLF line ends', argv: ['run', F('crlf.json'), '--json'], status: 0, match: /"ok": true/ },
  { name: 'a file named after --', argv: ['run', '--json', '--', F('ok.json')], status: 0, match: /"ok": true/ },
];

const runStdinCases: Case[] = [
  runStdin('empty stdin', '', /<stdin>: empty input/),
  runStdin('blank stdin', '\n  \n', /<stdin>: empty input/),
  runStdin('prose on stdin', 'hello', /invalid scenario <stdin>: \(json\)/),
  runStdin('binary stdin', Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), /<stdin>: binary input \(NUL byte at offset 7\), expected UTF-8 text/),
  runStdin('Latin-1 stdin', Uint8Array.from([0x7b, 0xe9, 0x7d]), /<stdin>: not UTF-8 text/),
  runStdin('a truncated UTF-8 sequence at the end', Uint8Array.from([...new TextEncoder().encode(ok1), 0xc3]), /<stdin>: not UTF-8 text/),
  runStdin('an overlong encoding', Uint8Array.from([0x7b, 0xc0, 0xaf, 0x7d]), /not UTF-8 text/),
  runStdin('a raw control character inside a JSON string', '{"cpus": 2, "devices": [], "\u001b[2J": 1}', /\(json\): Bad control character in string literal/),
  runStdin('an escaped terminal sequence as a key is shown escaped', '{"cpus": 2, "devices": [], "\\u001b[2J": 1}', /invalid scenario <stdin>: \["\\u001b\[2J"\]: unknown field/),
  usage('JSON objects nested 100000 deep', ['run', F('deep-object.json')], /deep-object\.json: a: unknown field/),
  runStdin('a scenario after a BOM on stdin', `\ufeff{}`, /invalid scenario <stdin>: cpus: must be an integer/),
  { name: 'a valid scenario on stdin', argv: ['run', '-', '--json'], stdin: ok1, status: 0, match: /"bdf": "00:03.0"/ },
  { name: 'a valid scenario on stdin with a BOM', argv: ['run', '-'], stdin: `\ufeff${ok1}`, status: 0, match: /Result: PASS/ },
];

const scenarios: Case[] = [
  badScenario('an array', '[]', /\(scenario\): must be a JSON object/),
  badScenario('null', 'null', /\(scenario\): must be a JSON object/),
  badScenario('a number', '42', /\(scenario\): must be a JSON object/),
  badScenario('a string', '"cpus"', /\(scenario\): must be a JSON object/),
  badScenario('an empty object', '{}', /cpus: must be an integer, got undefined/),
  badScenario('trailing garbage', `${ok1} x`, /\(json\)/),
  badScenario('two objects', `${ok1}${ok1}`, /\(json\)/),
  badScenario('a duplicate key', '{"cpus": 2, "cpus": 4, "devices": []}', /cpus: appears twice in one object/),
  badScenario('a duplicate key inside msi', '{"cpus": 2, "devices": [{"bdf": "00:03.0", "msi": {"vectors": 2, "vectors": 4}}]}', /devices\[0\]\.msi\.vectors: appears twice/),
  badScenario('cpus 0', { cpus: 0, devices: [] }, /cpus: must be 1\.\.1024, got 0/),
  badScenario('cpus 1025', { cpus: 1025, devices: [] }, /cpus: must be 1\.\.1024, got 1025/),
  badScenario('cpus negative', { cpus: -1, devices: [] }, /cpus: must be 1\.\.1024/),
  badScenario('cpus fractional', { cpus: 2.5, devices: [] }, /cpus: must be an integer, got 2\.5/),
  badScenario('cpus as a string', { cpus: '4', devices: [] }, /cpus: must be an integer, got "4"/),
  badScenario('cpus true', { cpus: true, devices: [] }, /cpus: must be an integer, got true/),
  badScenario('cpus 1e400 (Infinity)', '{"cpus": 1e400, "devices": []}', /cpus: must be an integer/),
  badScenario('cpus a huge array', `{"cpus": [${'1,'.repeat(1000)}1], "devices": []}`, /cpus: must be an integer, got \[1,1,1.*\(2003 chars\)/),
  badScenario('xapic with 256 CPUs', { cpus: 256, apic: 'xapic', devices: [] }, /apic: 256 CPUs need APIC IDs above 254/),
  badScenario('unknown top-level field', { cpus: 1, devices: [], colour: 'red' }, /colour: unknown field/),
  badScenario('__proto__ as a field', '{"cpus": 1, "devices": [], "__proto__": {"x": 1}}', /__proto__: unknown field/),
  badScenario('a field with an odd name is quoted', '{"cpus": 1, "devices": [], "a b": 1}', /\["a b"\]: unknown field/),
  badScenario('unknown device field', { cpus: 1, devices: [dev('00:03.0', { vector: 3 })] }, /devices\[0\]\.vector: unknown field/),
  badScenario('unknown msix field', { cpus: 1, devices: [{ bdf: '00:03.0', msix: { vectors: 4, table: 0 } }] }, /devices\[0\]\.msix\.table: unknown field/),
  badScenario('unknown msi field', { cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 4, maskable: true } }] }, /devices\[0\]\.msi\.maskable: unknown field/),
  badScenario('unknown quirk', { cpus: 1, devices: [dev('00:03.0', { quirks: { dropAll: true } })] }, /devices\[0\]\.quirks\.dropAll: unknown field/),
  badScenario('msix not an object', { cpus: 1, devices: [{ bdf: '00:03.0', msix: 4 }] }, /devices\[0\]\.msix: must be an object/),
  badScenario('msix of 0 entries', { cpus: 1, devices: [{ bdf: '00:03.0', msix: { vectors: 0 } }] }, /msix\.vectors: must be 1\.\.2048, got 0/),
  badScenario('msix of 2049 entries', { cpus: 1, devices: [{ bdf: '00:03.0', msix: { vectors: 2049 } }] }, /msix\.vectors: must be 1\.\.2048/),
  badScenario('msi of 3 messages', { cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 3 } }] }, /msi\.vectors: must be a power of two/),
  badScenario('msi of 64 messages', { cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 64 } }] }, /msi\.vectors: must be 1\.\.32/),
  badScenario('msi is64 as a string', { cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 2, is64: 'yes' } }] }, /msi\.is64: must be true or false/),
  badScenario('function 1 without function 0', { cpus: 1, devices: [dev('00:03.1')] }, /devices\[0\]\.bdf: "00:03\.1" is function 1 of a slot with no function 0/),
  badScenario('function 7 beside another slot\'s function 0', { cpus: 1, devices: [dev('00:03.0'), dev('00:04.7')] }, /devices\[1\]\.bdf: "00:04\.7"/),
  badScenario('device 0x20', { cpus: 1, devices: [dev('00:20.0')] }, /devices\[0\]\.bdf: "00:20\.0" is not bus:device\.function/),
  badScenario('function 8', { cpus: 1, devices: [dev('00:03.8')] }, /devices\[0\]\.bdf/),
  badScenario('short BDF', { cpus: 1, devices: [dev('0:3.0')] }, /devices\[0\]\.bdf/),
  badScenario('BDF with a segment', { cpus: 1, devices: [dev('0000:00:03.0')] }, /devices\[0\]\.bdf/),
  badScenario('BDF as a number', { cpus: 1, devices: [{ bdf: 3 }] }, /devices\[0\]\.bdf: must be a string/),
  badScenario('BDF with a control character', { cpus: 1, devices: [dev('00:03.0\u0007')] }, /devices\[0\]\.bdf: "00:03\.0\\u0007"/),
  badScenario('the same device twice, in two cases', { cpus: 1, devices: [dev('00:0a.0'), dev('00:0A.0')] }, /devices\[1\]\.bdf: "00:0a\.0" appears twice/),
  badScenario('257 devices', { cpus: 1, devices: Array.from({ length: 257 }, (_, i) => dev(`${(i >> 5).toString(16).padStart(2, '0')}:${(i & 31).toString(16).padStart(2, '0')}.0`)) }, /devices: at most 256 devices, got 257/),
  badScenario('devices not an array', { cpus: 1, devices: {} }, /devices: must be an array/),
  badScenario('a device that is not an object', { cpus: 1, devices: ['00:03.0'] }, /devices\[0\]: must be an object/),
  badScenario('want 0', { cpus: 1, devices: [dev('00:03.0', { want: 0 })] }, /devices\[0\]\.want: must be 1\.\.2048/),
  badScenario('min above want', { cpus: 1, devices: [dev('00:03.0', { want: 2, min: 4 })] }, /devices\[0\]\.min: min 4 exceeds want 2/),
  badScenario('intxPin 5', { cpus: 1, devices: [dev('00:03.0', { intxPin: 5 })] }, /devices\[0\]\.intxPin: must be 0\.\.4/),
  badScenario('expectError unknown', { cpus: 1, devices: [dev('00:03.0', { expectError: 'EBUSY' })] }, /devices\[0\]\.expectError: must be one of "ENOSPC", "EINVAL", got "EBUSY"/),
  badScenario('expectError as a number', { cpus: 1, devices: [dev('00:03.0', { expectError: 28 })] }, /devices\[0\]\.expectError: must be one of/),
  badScenario('fill 202', { cpus: 1, devices: [], fill: 202 }, /fill: must be 0\.\.201/),
  badScenario('name as a number', { cpus: 1, devices: [], name: 42 }, /name: must be a string/),
  badScenario('description as an object', { cpus: 1, devices: [], description: {} }, /description: must be a string/),
  badScenario('device name as a number', { cpus: 1, devices: [dev('00:03.0', { name: 1 })] }, /devices\[0\]\.name: must be a string/),
  badScenario('lowestPriority unknown', { cpus: 1, devices: [], lowestPriority: 'random' }, /lowestPriority: must be one of/),
  badScenario('mcfg as a string', { cpus: 1, devices: [], mcfg: 'false' }, /mcfg: must be true or false, got "false"/),
  badScenario('two INTx-only devices on one GSI', { cpus: 2, devices: [{ bdf: '00:03.0' }, { bdf: '00:07.0' }] }, /devices\[1\]\.intxPin: "00:07\.0" INTA and "00:03\.0" \(INTx only, no MSI\) both route to GSI 19; shared INTx lines are not supported/),
  badScenario('INTx-only devices on two buses, one GSI', { cpus: 2, devices: [{ bdf: '00:04.0', intxPin: 2 }, { bdf: '01:05.0' }] }, /devices\[1\]\.intxPin: .* both route to GSI 17/),
  badScenario('policy unknown', { cpus: 1, devices: [], policy: 'windows' }, /policy: must be one of/),
];

// Scenarios that boot: a policy that refuses a device fails the run unless the scenario expects it.
const msi32 = (extra: object = {}) => ({ bdf: '00:03.0', msi: { vectors: 32 }, ...extra });
const probes: Case[] = [
  { name: 'the built-in scenario', argv: ['run'], status: 0, match: /policy aligned[\s\S]*policy linux[\s\S]*Result: PASS/ },
  { name: 'functions 0 and 1 of one slot are both probed', argv: ['run', '-', '--json'], stdin: sc({ cpus: 2, devices: [dev('00:03.0'), dev('00:03.1')] }), status: 0, match: /"bdf": "00:03.0"[\s\S]*"bdf": "00:03.1"/ },
  { name: 'FreeBSD misrouting fails the probe', argv: ['run', path.join(root, 'examples/scenarios/freebsd-misroute.json')], status: 1, match: /FAIL {2}00:03\.0 message 0: misrouted/ },
  { name: 'linux refuses min 2 for multi-MSI: ENOSPC fails the run', argv: ['run', '-'], stdin: sc({ cpus: 2, policy: 'linux', devices: [msi32({ min: 2 })] }), status: 1, match: /FAIL {2}00:03\.0 none: pci_alloc_irq_vectors\(min 2, max 32\) returned -ENOSPC/ },
  { name: 'the same refusal, declared as expected, passes', argv: ['run', '-'], stdin: sc({ cpus: 2, policy: 'linux', devices: [msi32({ min: 2, expectError: 'ENOSPC' })] }), status: 0, match: /PASS {2}00:03\.0 refused: pci_alloc_irq_vectors\(min 2, max 32\) returned -ENOSPC as the scenario expects/ },
  { name: 'an expected refusal that is granted fails', argv: ['run', '-'], stdin: sc({ cpus: 2, devices: [msi32({ min: 2, expectError: 'ENOSPC' })] }), status: 1, match: /FAIL {2}00:03\.0 refused: expected pci_alloc_irq_vectors\(min 2, max 32\) to return -ENOSPC, but it granted 32 msi vector/ },
  { name: 'min above what the device can send is ENOSPC', argv: ['run', '-', '--json'], stdin: sc({ cpus: 1, devices: [{ bdf: '00:03.0', msi: { vectors: 4 }, min: 8 }] }), status: 1, match: /"mode": "none"[\s\S]*"error": "ENOSPC"/ },
  { name: 'a device with no interrupt at all is EINVAL', argv: ['run', '-'], stdin: sc({ cpus: 1, devices: [{ bdf: '00:03.0', intxPin: 0 }] }), status: 1, match: /returned -EINVAL: no interrupt set up/ },
  { name: 'and passes when EINVAL is expected', argv: ['run', '-'], stdin: sc({ cpus: 1, devices: [{ bdf: '00:03.0', intxPin: 0, expectError: 'EINVAL' }] }), status: 0, match: /1 of 1 declared device\(s\) found[\s\S]*Result: PASS/ },
  { name: 'the wrong errno expected fails', argv: ['run', '-'], stdin: sc({ cpus: 1, devices: [{ bdf: '00:03.0', intxPin: 0, expectError: 'ENOSPC' }] }), status: 1, match: /returned -EINVAL, expected -ENOSPC/ },
  { name: 'a full machine refuses MSI-X: ENOSPC', argv: ['run', '-'], stdin: sc({ cpus: 1, fill: 201, devices: [{ bdf: '00:03.0', msix: { vectors: 4 }, min: 2 }] }), status: 1, match: /-ENOSPC/ },
  { name: 'several policies: one refuses, so the run fails', argv: ['run', '-', '--policy', 'aligned,linux', '--json'], stdin: sc({ cpus: 2, devices: [msi32({ min: 2 })] }), status: 1, match: /"ok": false/ },
  { name: '--engine js overrides the scenario', argv: ['run', '-', '--engine', 'js'], stdin: ok1, status: 0, match: /engine js/ },
];

const matrix: Case[] = [
  usage('no FILE and a terminal on stdin', ['matrix'], /no FILE given and standard input is a terminal/, { tty: true }),
  usage('no FILE and nothing on stdin', ['matrix'], /<stdin>: empty input/),
  usage('- with empty stdin', ['matrix', '-'], /<stdin>: empty input/),
  usage('- with blank stdin', ['matrix', '-'], /<stdin>: empty input/, { stdin: '\n\n   \n' }),
  usage('- with prose', ['matrix', '-'], /<stdin>:1: unknown operation "hello"/, { stdin: 'hello world\n' }),
  usage('- with binary', ['matrix', '-'], /<stdin>: binary input \(NUL byte at offset 3\)/, { stdin: Uint8Array.from([0x61, 0x62, 0x63, 0x00, 0xff]) }),
  usage('- with Latin-1', ['matrix', '-'], /<stdin>: not UTF-8 text/, { stdin: Uint8Array.from([0x61, 0x6c, 0x6c, 0x6f, 0x63, 0x20, 0xb5, 0x0a]) }),
  usage('two files', ['matrix', F('script.txt'), F('script.txt')], /takes one FILE, got also/),
  usage('--engine unknown', ['matrix', '--engine', 'gpu', '-'], /--engine must be wasm or js/),
  usage('--engine missing', ['matrix', '--engine'], /--engine needs a value/),
  usage('--engine twice', ['matrix', '--engine', 'js', '--engine', 'js', F('script.txt')], /given more than once/),
  usage('a directory', ['matrix', path.join(D, 'a-directory')], /is a directory/),
  usage('/dev/zero', ['matrix', '/dev/zero'], /binary input/),
  usage('a missing file', ['matrix', F('nope.txt')], /no such file/),
  usage('a NUL inside a script', ['matrix', F('script-nul.txt')], /script-nul\.txt: binary input \(NUL byte at offset 41\)/),
  usage('an operation before set-up', ['matrix', '-'], /<stdin>:1: "alloc" before the matrix is set up/, { stdin: 'alloc 0\n' }),
  usage('cpus 0', ['matrix', '-'], /<stdin>:2: /, { stdin: 'preset x86\ncpus 0\n' }),
  usage('cpus with 30 digits', ['matrix', '-'], /<stdin>:2: /, { stdin: `preset x86\ncpus ${'9'.repeat(30)}\n` }),
  usage('a dangling range', ['matrix', '-'], /<stdin>:5: MASK "0-" is not a cpulist/, { stdin: `${SETUP}alloc 0-\n` }),
  usage('a descending range', ['matrix', '-'], /<stdin>:5: MASK "5-3" is not a cpulist/, { stdin: `${SETUP}alloc 5-3\n` }),
  usage('an empty list item', ['matrix', '-'], /<stdin>:5: MASK "0,,1" is not a cpulist/, { stdin: `${SETUP}alloc 0,,1\n` }),
  usage('a negative CPU', ['matrix', '-'], /<stdin>:5: CPU "-1" is not a decimal or 0x number/, { stdin: `${SETUP}online -1\n` }),
  usage('the preset twice', ['matrix', '-'], /<stdin>:2: the matrix is already defined/, { stdin: 'preset x86\npreset x86\n' }),
  usage('an escape sequence as the operation', ['matrix', '-'], /<stdin>:1: unknown operation "\\(x1b|u001b)\[2J"/, { stdin: '\u001b[2J\n' }),
  usage('a line with 100 000 arguments', ['matrix', '-'], /<stdin>:5: alloc takes 1\.\.2 argument\(s\), got 100000/, { stdin: `${SETUP}alloc ${'0 '.repeat(100_000)}\n` }),
  { name: 'a script from stdin without FILE', argv: ['matrix'], stdin: `${SETUP}alloc 0\n`, status: 0, match: /{"cpu":\d,"vector":32}/ },
  { name: 'a script from stdin with -', argv: ['matrix', '--engine', 'js', '-'], stdin: `${SETUP}alloc 0\n`, status: 0, match: /{"cpu":0,"vector":32}/ },
  { name: 'a script with a BOM', argv: ['matrix', F('script-bom.txt')], status: 0, match: /{"cpu":0,"vector":32}/ },
  { name: 'a script with CRLF line ends', argv: ['matrix', F('script-crlf.txt')], status: 0, match: /{"cpu":0,"vector":32}/ },
  { name: 'a script of comments only', argv: ['matrix', F('script-comments.txt')], status: 0 },
  { name: 'a CPU beyond the matrix is an operation error, not a syntax error', argv: ['matrix', '-'], stdin: `${SETUP}alloc 9999\n`, status: 0, match: /{"error":"EINVAL"/ },
  { name: 'a huge CPU number in a mask', argv: ['matrix', '-'], stdin: `${SETUP}alloc ${'9'.repeat(400)}\n`, status: 0, match: /{"error":"EINVAL","detail":"CPU Infinity/ },
];

const migrate: Case[] = [
  usage('a positional', ['migrate', 'now'], /takes no positional arguments, got "now"/),
  usage('--engine outside --evacuate', ['migrate', '--engine', 'bogus'], /--engine applies only to --evacuate/),
  usage('--engine unknown with --evacuate', ['migrate', '--evacuate', '--engine', 'bogus'], /--engine must be js or wasm, got "bogus"/),
  ...['--block 4', '--protocol safe', '--fires 2', '--exhaustive', '--random 5', '--positions', '--trace', '--mode both', '--pvm yes', '--target same-base', '--stale busy', '--schedule lazy', '--address 32'].map((o) =>
    usage(`${o} with --evacuate`, ['migrate', '--evacuate', ...o.split(' ')], new RegExp(`${o.split(' ')[0]} does not apply to --evacuate`)),
  ),
  ...['--cpus 4', '--load 0.5', '--trials 2', '--pvm-share 0.5', '--engine js'].map((o) =>
    usage(`${o} without --evacuate`, ['migrate', ...o.split(' ')], new RegExp(`${o.split(' ')[0]} applies only to --evacuate`)),
  ),
  usage('--pvm-share as a list', ['migrate', '--evacuate', '--pvm-share', '0.5,0.9'], /--pvm-share takes one number, got the list "0\.5,0\.9"/),
  usage('--load negative', ['migrate', '--evacuate', '--load', '-0.5'], /--load: -0\.5 is out of range 0\.\.1/),
  usage('--load negative with =', ['migrate', '--evacuate', '--load=-0.5'], /--load: -0\.5 is out of range 0\.\.1/),
  usage('--load above 1', ['migrate', '--evacuate', '--load', '1.5'], /--load: 1\.5 is out of range/),
  usage('--load with an exponent', ['migrate', '--evacuate', '--load', '5e-1'], /--load takes decimal numbers \(comma-separated\), got "5e-1"/),
  usage('--load NaN', ['migrate', '--evacuate', '--load', 'NaN'], /got "NaN"/),
  usage('--load Infinity', ['migrate', '--evacuate', '--load', 'Infinity'], /got "Infinity"/),
  usage('--load hex', ['migrate', '--evacuate', '--load', '0x1'], /got "0x1"/),
  usage('--load with an empty item', ['migrate', '--evacuate', '--load', '0.5,,0.6'], /got ""/),
  usage('--load repeated in the list', ['migrate', '--evacuate', '--load', '0.5,0.50'], /--load lists 0\.5 twice/),
  usage('--cpus 1', ['migrate', '--evacuate', '--cpus', '1'], /--cpus: 1 is out of range 2\.\.255/),
  usage('--cpus 256', ['migrate', '--evacuate', '--cpus', '256'], /out of range 2\.\.255/),
  usage('--cpus fractional', ['migrate', '--evacuate', '--cpus', '2.5'], /--cpus takes integers/),
  usage('--trials 0', ['migrate', '--evacuate', '--trials', '0'], /--trials: 0 is out of range 1\.\.100000/),
  usage('--trials 1e3', ['migrate', '--evacuate', '--trials', '1e3'], /--trials takes integers, got "1e3"/),
  usage('--trials as a list', ['migrate', '--evacuate', '--trials', '1,2'], /--trials takes one integer, got the list/),
  usage('--seed negative', ['migrate', '--evacuate', '--seed', '-1'], /--seed: -1 is out of range 0\.\.4294967295/),
  usage('--seed 2^32', ['migrate', '--evacuate', '--seed', '4294967296'], /out of range/),
  usage('--seed hex', ['migrate', '--evacuate', '--seed', '0x10'], /--seed takes integers, got "0x10"/),
  usage('too many evacuation trials', ['migrate', '--evacuate', '--cpus', '2,3,4,5,6,7,8,9,10,11', '--load', '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1', '--trials', '100000'], /10 CPU count\(s\) × 10 load\(s\) × 100000 trials is 10000000 trials, more than --max-runs 1000000/),
  usage('--block 3', ['migrate', '--block', '3'], /--block must be a power of two/),
  usage('--block 0', ['migrate', '--block', '0'], /--block: 0 is out of range 1\.\.32/),
  usage('--block 64', ['migrate', '--block', '64'], /out of range 1\.\.32/),
  usage('--block negative', ['migrate', '--block', '-4'], /--block: -4 is out of range/),
  usage('--block 4.0', ['migrate', '--block', '4.0'], /--block takes integers, got "4\.0"/),
  usage('--block as a list', ['migrate', '--block', '4,8'], /takes one integer, got the list "4,8"/),
  usage('--block twice', ['migrate', '--block', '4', '--block=8'], /--block given more than once/),
  usage('--fires 0', ['migrate', '--fires', '0'], /--fires: 0 is out of range 1\.\.8/),
  usage('--fires 9', ['migrate', '--fires', '9'], /out of range 1\.\.8/),
  usage('--address 48', ['migrate', '--address', '48'], /--address must be 32 or 64, got "48"/),
  usage('--exhaustive with --random', ['migrate', '--exhaustive', '--random', '10'], /exclude each other/),
  usage('--random 0', ['migrate', '--random', '0'], /--random: 0 is out of range/),
  usage('--seed on an exhaustive run', ['migrate', '--seed', '5'], /--seed has no effect: the runs are exhaustive/),
  usage('--json with --positions', ['migrate', '--json', '--positions'], /--positions has no effect with --json/),
  usage('--json with --trace', ['migrate', '--json', '--trace'], /--trace has no effect with --json/),
  usage('--protocol all mixed with a name', ['migrate', '--protocol', 'all,safe'], /--protocol must be naive, linux, linux-single, safe, remap or all \(comma-separated\), got "all"/),
  usage('--protocol repeated', ['migrate', '--protocol', 'safe,safe'], /lists safe twice/),
  usage('--mode both mixed', ['migrate', '--mode', 'both,affinity'], /got "both"/),
  usage('--pvm maybe', ['migrate', '--pvm', 'maybe'], /--pvm must be no, yes or both, got "maybe"/),
  usage('--schedule unknown', ['migrate', '--schedule', 'never'], /got "never"/),
  usage('32^8 exhaustive runs', ['migrate', '--block', '32', '--fires', '8', '--exhaustive'], /at least 1\.10e12 message choices \(32\^8\).* is at least [\d.]+e\d+ runs, more than --max-runs 1000000/),
  usage('8^3 exhaustive runs over every setup', ['migrate', '--block', '8', '--fires', '3', '--exhaustive', '--pvm', 'both', '--stale', 'both'], /is at least \d+ runs, more than --max-runs 1000000/),
  usage('10^7 random runs', ['migrate', '--random', '10000000'], /10 protocol\/setup combination\(s\) × 10000000 random runs is 100000000 runs, more than --max-runs 1000000/),
  usage('--max-runs 0', ['migrate', '--max-runs', '0'], /--max-runs: 0 is out of range/),
  usage('--max-runs too low for the default', ['migrate', '--max-runs', '10'], /is at least \d+ runs, more than --max-runs 10/),
  usage('--max-runs as a word', ['migrate', '--max-runs', 'many'], /--max-runs takes integers/),
  { name: 'one safe move', argv: ['migrate', '--protocol', 'safe', '--block', '1', '--mode', 'affinity'], status: 0, match: /safe protocol: every message reached its own handler exactly once/ },
  { name: 'random sampling with a seed', argv: ['migrate', '--protocol', 'safe', '--block', '32', '--fires', '2', '--random', '5', '--seed', '3', '--mode', 'unplug'], status: 0, match: /5 random interleavings \(seed 3\)/ },
  { name: 'an evacuation', argv: ['migrate', '--evacuate', '--cpus', '2', '--load', '.5', '--trials', '1', '--json'], status: 0, match: /"experiment": "evacuate"/ },
  { name: '--max-runs raised to exactly what is needed', argv: ['migrate', '--protocol', 'naive', '--block', '1', '--mode', 'affinity', '--max-runs', '8'], status: 0, match: /naive/ },
];

const label = (group: string, cases: Case[]) => cases.map((c) => ({ ...c, name: `${group}: ${c.name}` }));
const corpus = [
  ...label('general', general),
  ...label('run', runArgs),
  ...label('run -', runStdinCases),
  ...label('scenario', scenarios),
  ...label('probe', probes),
  ...label('matrix', matrix),
  ...label('migrate', migrate),
];

function check(c: Case, r: Outcome): void {
  if (c.status === 2) {
    expectUsageError(r, c.match);
    return;
  }
  expect(r.status, `stderr: ${r.stderr}`).toBe(c.status);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  if (c.match) expect(r.stdout).toMatch(c.match);
}

describe(`hostile invocations (${corpus.length} cases, in-process)`, () => {
  it('the corpus is well over a hundred cases, with every outcome represented', () => {
    expect(corpus.length).toBeGreaterThan(200);
    for (const s of [0, 1, 2]) expect(corpus.some((c) => c.status === s)).toBe(true);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });
  for (const c of corpus) {
    it(`${c.name}: ${JSON.stringify(c.argv).slice(0, 80)} → ${c.status}`, async () => check(c, await runInProcess(c)));
  }
});

describe('hostile invocations as the built bundle in a real process', () => {
  // Every seventh case plus those where the process itself matters (bytes on a pipe, the version).
  const sample = corpus.filter((c, i) => !c.tty && (i % 7 === 0 || c.argv[0] === '--version' || /binary|UTF-8|BOM/.test(c.name)));
  it(`${sample.length} cases give the same status and stderr as in-process`, async () => {
    for (let i = 0; i < sample.length; i += 2) {
      const pair = sample.slice(i, i + 2);
      const results = await Promise.all(pair.map((c) => runBundle(c)));
      pair.forEach((c, k) => {
        try {
          check(c, results[k]!);
        } catch (e) {
          throw new Error(`${c.name}: ${(e as Error).message}`);
        }
      });
    }
  });

  it('a reader that goes away early ends the run quietly (EPIPE)', async () => {
    const { spawn } = await import('node:child_process');
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(root, 'dist', 'cli.js'), 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('close', (status) => resolve({ status, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('matrix without FILE and with no standard input at all reads nothing: exit 2', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'matrix'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    expectUsageError({ status: r.status, stdout: r.stdout, stderr: r.stderr }, /<stdin>: empty input/);
  });
});
