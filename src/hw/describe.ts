// Printable descriptions of caller-supplied values for error messages: never throws (symbols,
// null-prototype objects, revoked proxies), never echoes more than a short prefix of a string.

/** A short, printable description of `v`: numbers and booleans as written, strings quoted and cut. */
export function describeValue(v: unknown): string {
  try {
    switch (typeof v) {
      case 'undefined': return 'undefined';
      case 'number': return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint': return `${v.toString()}n`;
      case 'boolean': return v ? 'true' : 'false';
      case 'string': // JSON escapes C0 controls; C1 controls and DEL are escaped too, so no raw byte is echoed
        return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      case 'symbol': return 'a symbol';
      case 'function': return 'a function';
      default:
        if (v === null) return 'null';
        return Array.isArray(v) ? `an array of length ${v.length}` : 'an object';
    }
  } catch {
    return 'an unprintable value';
  }
}
