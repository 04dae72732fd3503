// Splits a capture (serial log + HMP monitor transcript) into one file per format.
import fs from 'node:fs';
const [dir, out] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
const serial = fs.readFileSync(`${dir}/serial.log`, 'latin1').replace(/\r/g, '');
const section = (name) => {
  const m = serial.match(new RegExp(`=====BEGIN ${name}\\n([\\s\\S]*?)=====END ${name}\\n`));
  if (!m) throw new Error(`no section ${name}`);
  // lspci's complaint that libkmod has no index in the initramfs goes to stderr, interleaved here.
  return m[1].split('\n').filter((l) => !l.startsWith('lspci: Unable to load libkmod')).join('\n');
};
fs.writeFileSync(`${out}/uname.txt`, section('uname'));
fs.writeFileSync(`${out}/proc-interrupts.txt`, section('proc-interrupts'));
fs.writeFileSync(`${out}/lspci-vv.txt`, section('lspci-vv'));
fs.writeFileSync(`${out}/lspci-vvnn.txt`, section('lspci-vvnn'));
// The monitor echoes each typed command with terminal escapes; answers are the lines between prompts.
const mon = fs.readFileSync(`${dir}/monitor.log`, 'latin1').replace(/\r/g, '');
const answers = mon.split(/\(qemu\) [^\n]*\n/).slice(1);
const lapic = [], rest = [];
for (const a of answers) (a.startsWith('dumping local APIC') ? lapic : rest).push(a);
fs.writeFileSync(`${out}/info-lapic.txt`, lapic.join(''));
const pic = rest.find((a) => a.startsWith('ioapic0:'));
fs.writeFileSync(`${out}/info-pic.txt`, pic);
fs.writeFileSync(`${out}/qemu-version.txt`, rest.find((a) => /^\d+\.\d+/.test(a)).replace(/\(qemu\) $/, '').trimEnd() + '\n');
