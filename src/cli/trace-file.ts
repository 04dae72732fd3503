// --trace-file FILE: the Chrome trace-event JSON of a run. The file is opened before any work, so a
// path that cannot be written is bad usage (exit 2) and not a report thrown away after the run.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { ChromeTrace } from '../trace/chrome-trace.js';
import { inputName, UsageError } from './io.js';

const WHY: Record<string, string> = {
  ENOENT: 'no such directory',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a component of the path is not a directory',
  ENAMETOOLONG: 'the path is too long',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links',
};

export interface TraceFile {
  write(trace: ChromeTrace): void;
}

/** Opens (creates or truncates) `path` for the trace; a UsageError naming the path when it cannot. */
export function openTraceFile(path: string): TraceFile {
  if (path === '') throw new UsageError('--trace-file needs a file name, got ""');
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    const reason = (code && WHY[code]) ?? (e instanceof Error ? e.message.split('\n')[0]! : String(e));
    throw new UsageError(`--trace-file: cannot write ${inputName(path)}: ${reason}`);
  }
  return {
    write(trace) {
      try {
        // One event per line: diff-able, and still one JSON document.
        const body = trace.traceEvents.map((e) => JSON.stringify(e)).join(',\n');
        writeSync(fd, `{"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},"traceEvents":[\n${body}\n]}\n`);
      } finally {
        closeSync(fd);
      }
    },
  };
}
