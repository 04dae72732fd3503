import { it } from 'vitest';
import { PcieRootPort, MsiEndpoint } from '../../../src/index.js';
import { runGuestSession } from '../../../src/adapters/v86/index.js';
import { findGuest, loadImages, loadV86 } from './guest.js';

it('debug boot', async () => {
  const g = findGuest();
  if (!('manifest' in g)) throw new Error(g.missing);
  const { V86, wasmPath } = await loadV86();
  const port = new PcieRootPort({ interrupts: 'msi' });
  const ep = new MsiEndpoint({ msi: { vectors: 4, is64: true, pvm: false } });
  const r = await runGuestSession({
    V86, wasmPath, images: loadImages(g.manifest), functions: [port, ep],
    cmdline: 'quiet loglevel=3',
    onSerialLine: (l) => console.log('G|' + l),
    betweenReports: async () => {
      for (let i = 0; i < 3; i++) {
        port.raisePme(port.config.getRaw(0,2) ? (0x10 << 3) : 0);
        await new Promise((r) => setTimeout(r, 300));
        console.log('rtsta', port.pcie.rootStatus().toString(16), 'sent', port.pmeMessagesSent);
      }
    },
    timeoutMs: 400000,
  });
  console.log(JSON.stringify(r.timing), r.events.slice(0, 10), r.attachment.delivered.slice(0, 10));
}, 450000);
