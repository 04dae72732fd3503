// The embedded WASM modules are base64 text (scripts/build-wasm.mjs): decoded with Buffer in Node
// and atob in browsers, so one bundle loads in both without a file read.

export function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
