// The embedded WASM modules are base64 text (scripts/build-wasm.mjs): decoded with Buffer in Node
// and atob in browsers, so one bundle loads in both without a file read.

/** Node's Buffer, looked up at run time so that the library's types need no Node declarations. */
const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'base64'): Uint8Array } }).Buffer;

export function decodeBase64(b64: string): Uint8Array {
  if (NodeBuffer !== undefined) return new Uint8Array(NodeBuffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
