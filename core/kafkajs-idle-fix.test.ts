import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { RequestQueue } from './kafkajs-idle-fix.js';

const require = createRequire(import.meta.url);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

type Queue = {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  canSendSocketRequestImmediately(): boolean;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
};

function queue(): Queue {
  const Ctor = RequestQueue as unknown as new (o: object) => Queue;
  return new Ctor({
    maxInFlightRequests: 1,
    requestTimeout: 1000,
    clientId: 't',
    broker: 'b',
    logger: silent,
  });
}

describe('kafkajs RequestQueue idle fix', () => {
  const made: Queue[] = [];
  afterEach(() => {
    for (const q of made.splice(0)) q.destroy();
  });

  it('is the version it was written for (review the fix when kafkajs changes)', () => {
    expect((require('kafkajs/package.json') as { version: string }).version).toBe('2.2.4');
  });

  it('arms no timer when nothing is pending and nothing throttles (upstream re-armed every 1 ms)', () => {
    const q = queue();
    made.push(q);
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still checks a pending request 10 ms later, and sends it', () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const q = queue();
    made.push(q);
    let sent = 0;
    q.pending.push({ send: () => sent++, expectResponse: true, correlationId: 1 });
    // Full in-flight: the request must wait for the scheduled check.
    let full = true;
    q.canSendSocketRequestImmediately = () => !full;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    full = false;
    vi.advanceTimersByTime(9);
    expect(sent).toBe(0);
    vi.advanceTimersByTime(1);
    expect(sent).toBe(1);
    expect(q.pending).toHaveLength(0);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks again when a throttle ends, even with nothing pending', () => {
    const q = queue();
    made.push(q);
    q.throttledUntil = Date.now() + 50;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
  });
});
