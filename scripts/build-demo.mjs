// Builds the demo page (demo/) into one self-contained file, dist/demo/index.html: the CSS, the page's
// script and the worker's (as a string the page turns into a Blob URL) are inlined, and so are the
// example scenarios and matrix scripts, so the page works offline and from file:// as well as over
// http. With --serve it then serves that file on 127.0.0.1 with Node's http module (--port N, default
// 8017; 0 picks a free port) and prints the URL.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_FILE = path.join(root, 'dist', 'demo', 'index.html');

/** The example files of `dir` with extension `ext`, by file name. */
function examples(dir, ext) {
  const out = {};
  for (const f of readdirSync(path.join(root, dir)).sort()) if (f.endsWith(ext)) out[f] = readFileSync(path.join(root, dir, f), 'utf8');
  return out;
}

async function bundle(entry, define = {}) {
  const r = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define,
  });
  return r.outputFiles[0].text;
}

/** Builds dist/demo/index.html; returns its path. */
export async function buildDemo() {
  // The matrix engine's WASM is a generated module: make it on a fresh clone.
  if (!existsSync(path.join(root, 'src/alloc/wasm/matrix-wasm.generated.ts'))) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/build-wasm.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('build-wasm failed');
  }
  const worker = await bundle('demo/worker.ts');
  const page = await bundle('demo/main.ts', {
    __SCENARIOS__: JSON.stringify(examples('examples/scenarios', '.json')),
    __MATRIX_SCRIPTS__: JSON.stringify(examples('examples/matrix', '.txt')),
    __WORKER_SOURCE__: JSON.stringify(worker),
  });
  const template = readFileSync(path.join(root, 'demo/index.html'), 'utf8');
  const css = readFileSync(path.join(root, 'demo/style.css'), 'utf8');
  // Inside an inline <script>, "</script" would end the element: escape it (same string in JS).
  const script = page.split('</script').join('<\\/script');
  const html = template.split('/*STYLE*/').join(css).split('/*SCRIPT*/').join(script);
  mkdirSync(path.dirname(DEMO_FILE), { recursive: true });
  writeFileSync(DEMO_FILE, html);
  return DEMO_FILE;
}

/** Serves `file` at / on 127.0.0.1:port; resolves with the server and its URL once listening. */
export function serveDemo(file = DEMO_FILE, port = 0) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname !== '/' && url.pathname !== '/index.html') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the demo is one page, at /\n');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const serve = args.includes('--serve');
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : 8017;
  const unknown = args.filter((a, i) => a !== '--serve' && a !== '--port' && !(at >= 0 && i === at + 1));
  if (unknown.length || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node scripts/build-demo.mjs [--serve [--port N]]');
    process.exit(2);
  }
  const file = await buildDemo();
  console.log(`demo: ${path.relative(process.cwd(), file)} (${Math.round(readFileSync(file).length / 1024)} KiB; also opens from file://)`);
  if (serve) {
    let served;
    try {
      served = await serveDemo(file, port);
    } catch (e) {
      if (e?.code !== 'EADDRINUSE' || port === 0) throw e;
      served = await serveDemo(file, 0); // the usual port is taken: any free one
    }
    console.log(`irqslice demo: ${served.url}  (Ctrl-C stops the server)`);
  }
}
