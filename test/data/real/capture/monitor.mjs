// Waits for the guest's READY marker on the serial log, then asks QEMU's HMP monitor for info lapic
// (every CPU) and info pic, and writes the answers to stdout.
import net from 'node:net';
import fs from 'node:fs';
const [serial, sock, ncpu] = process.argv.slice(2);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < 1200; i++) { if (fs.existsSync(serial) && fs.readFileSync(serial, 'utf8').includes('=====READY-FOR-MONITOR')) break; await wait(500); }
const s = net.connect(sock);
let buf = '';
s.on('data', (d) => (buf += d.toString('latin1')));
await wait(1000);
const cmds = [];
for (let c = 0; c < Number(ncpu); c++) cmds.push(`cpu ${c}`, 'info lapic');
cmds.push('info pic', 'info version');
for (const c of cmds) { s.write(c + '\n'); await wait(1500); }
s.end();
await wait(500);
process.stdout.write(buf);
