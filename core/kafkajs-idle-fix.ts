// A fix for kafkajs 2.2.4 (the version package-lock.json pins), applied to its RequestQueue class
// when this module is imported (core/kafka.ts and every other module that builds a kafkajs client
// import it first).
//
// The bug (tulios/kafkajs#1556, #1704; the fix proposed in #1768's review, unmerged upstream):
// after every answered request, `scheduleCheckPendingRequests` arms a timer even when nothing is
// pending and the broker does not throttle; its delay is `throttledUntil - now`, negative, which
// Node turns into 1 ms, and the timer re-arms itself. So every broker connection of every process
// wakes its event loop about 1,000 times a second for nothing. Measured here: an idle blender
// spent 22-26 ms of CPU a second (BENCHMARKS.md), most of it in this loop, on a 2-core machine
// that also runs the searchers it waits for.
//
// The fixed method schedules a check only when a request is pending (in 10 ms, or when the
// throttle ends) or a throttle is in force, exactly as upstream does in those cases; with nothing
// pending and no throttle there is nothing to check: `push` sends or queues-and-schedules, and
// every answered request runs `checkPendingRequests` itself.
//
// Concurrency: runs once at import, before any client exists; idempotent.
import { createRequire } from 'node:module';

const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const PATCHED = Symbol.for('imatch.kafkajs.requestQueue.idleFix');

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

type RequestQueueClass = { prototype: RequestQueueLike & { [PATCHED]?: true } };

const require = createRequire(import.meta.url);

/** kafkajs's RequestQueue class (the module kafkajs itself loads: same path, same CJS cache entry). */
export const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;

function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0) {
    if (scheduleAt <= 0) scheduleAt = CHECK_PENDING_REQUESTS_INTERVAL_MS;
  } else if (scheduleAt <= 0) {
    return;
  }
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
}

export function applyKafkajsIdleFix(): void {
  const proto = RequestQueue.prototype;
  if (proto[PATCHED]) return;
  if (
    typeof proto.scheduleCheckPendingRequests !== 'function' ||
    typeof proto.checkPendingRequests !== 'function'
  )
    throw new Error(
      'kafkajs RequestQueue has changed: review core/kafkajs-idle-fix.ts against the new version',
    );
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  proto[PATCHED] = true;
}

applyKafkajsIdleFix();
