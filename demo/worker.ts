// The demo's worker (inlined into the page as a Blob URL): runs boot-and-probe off the page's thread.

import { runJob } from './run-job.js';
import type { RunReply, RunRequest } from './protocol.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent<RunRequest>) => void) | null; postMessage(m: RunReply): void };
scope.onmessage = (e) => {
  void runJob(e.data).then((reply) => scope.postMessage(reply));
};
