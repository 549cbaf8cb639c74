// The one writer of change messages: assigns ids and makes messages durable in Kafka, in order.
//
// Concurrency model: requests are queued; a single asynchronous loop drains the queue. Each turn
// takes the waiting requests (whole requests, up to maxWriteBatch messages), assigns their ids in
// queue order, writes them in ONE produce request (acks=all) and only then resolves each request
// with its ids. Because only this loop assigns ids and it awaits each write before the next, ids
// increase in the order messages are written, and concurrent requests are micro-batched into one
// Kafka write under load (the Pora lesson) while a lone request is written at once.
//
// Failure: if the write fails or times out, every request of that turn gets 503
// IM_ERR_KAFKA_UNAVAILABLE and its ids are never used again (a gap). The loop still waits for the
// failed write to settle before the next turn, so a late success can never land after a newer
// batch. Leadership is checked at the start of each turn; a turn in a new leadership term starts a
// new id block (IdBlocks.reset).

import { ImatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Change, ChangeMessage } from '../core/model.js';
import type { IdBlocks } from './id-blocks.js';

/** Where messages become durable: the Kafka changes topic (dispatch/kafka-log.ts). */
export interface ChangeLog {
  /** Resolves once every message is acknowledged by all in-sync replicas; rejects otherwise. */
  write(messages: readonly ChangeMessage[]): Promise<void>;
}

export interface LeaderState {
  leader: boolean;
  /** Increases every time this instance becomes leader. */
  term: number;
  /** URL of the current leader, when known (this instance's own when it leads). */
  leaderUrl?: string | undefined;
}

export interface Leadership {
  state(): LeaderState;
}

export interface WriterHooks {
  /** After each successful write: how many messages and requests, and the time it took (ms). */
  onWritten?: (messages: number, requests: number, ms: number) => void;
  onFailed?: (messages: number, reason: string) => void;
}

export interface WriterOptions {
  ids: IdBlocks;
  log: ChangeLog;
  leadership: Leadership;
  logger: Logger;
  /** Most messages per Kafka write (a single larger request is written alone). */
  maxWriteBatch: number;
  /** Messages queued before new requests are refused with 503 IM_ERR_OVERLOADED. */
  maxPending: number;
  /** Longest wait for one Kafka write before its requests are answered 503. */
  writeTimeoutMs: number;
  hooks?: WriterHooks;
  now?: () => Date;
}

interface Pending {
  changes: readonly Change[];
  resolve: (ids: number[]) => void;
  reject: (err: Error) => void;
  /** Answers 503 if the request is still queued (no id assigned) when it fires. */
  timer: NodeJS.Timeout;
}

export class ChangeWriter {
  #o: WriterOptions;
  #queue: Pending[] = [];
  #queued = 0;
  #running = false;
  #term = -1;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(options: WriterOptions) {
    this.#o = options;
  }

  /** Messages waiting to be written or being written. */
  get pending(): number {
    return this.#queued;
  }

  /** Ids for `changes` once they are durable; rejects with an ImatchError otherwise. */
  submit(changes: readonly Change[]): Promise<number[]> {
    if (this.#closed) return Promise.reject(new ImatchError('IM_ERR_NOT_READY', 'dispatch is shutting down'));
    const state = this.#o.leadership.state();
    if (!state.leader) return Promise.reject(notLeader(state));
    if (this.#queued + changes.length > this.#o.maxPending) {
      return Promise.reject(
        new ImatchError('IM_ERR_OVERLOADED', `${this.#queued} changes are waiting for Kafka; retry shortly`),
      );
    }
    return new Promise<number[]>((resolve, reject) => {
      // A request stuck behind a write that does not settle (Kafka gone) is answered 503 at its
      // own deadline instead of waiting for the loop; nothing of it was assigned or written.
      const timer = setTimeout(() => {
        const at = this.#queue.indexOf(pending);
        if (at < 0) return;
        this.#queue.splice(at, 1);
        this.#queued -= changes.length;
        this.#o.hooks?.onFailed?.(changes.length, 'timed out in the queue');
        reject(kafkaDown());
      }, this.#o.writeTimeoutMs);
      const pending: Pending = { changes, resolve, reject, timer };
      this.#queue.push(pending);
      this.#queued += changes.length;
      if (!this.#running) void this.#drain();
    });
  }

  /** Refuse new requests and wait until the queue is written (or failed). */
  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#running && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) await this.#turn();
    } finally {
      this.#running = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #turn(): Promise<void> {
    const turn: Pending[] = [];
    let size = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (turn.length > 0 && size + next.changes.length > this.#o.maxWriteBatch) break;
      this.#queue.shift();
      clearTimeout(next.timer);
      turn.push(next);
      size += next.changes.length;
    }
    try {
      await this.#write(turn, size);
    } finally {
      // Counted as pending until answered, so back pressure includes the write in flight.
      this.#queued -= size;
    }
  }

  async #write(turn: Pending[], size: number): Promise<void> {
    const fail = (err: Error) => {
      for (const p of turn) p.reject(err);
      this.#o.hooks?.onFailed?.(size, err.message);
    };

    const state = this.#o.leadership.state();
    if (!state.leader) return fail(notLeader(state));
    if (state.term !== this.#term) {
      this.#o.ids.reset();
      this.#term = state.term;
    }

    let ids: number[];
    try {
      ids = await this.#o.ids.take(size);
    } catch (err) {
      this.#o.logger.error({ err }, 'could not reserve message ids');
      this.#o.ids.reset();
      return fail(
        err instanceof ImatchError && err.code !== 'IM_ERR_INTERNAL'
          ? err
          : new ImatchError('IM_ERR_ZK_UNAVAILABLE', 'could not reserve message ids; retry shortly', {
              cause: err,
            }),
      );
    }

    // Reserving a block can take a ZooKeeper round trip; do not write if leadership moved meanwhile.
    const after = this.#o.leadership.state();
    if (!after.leader || after.term !== this.#term) return fail(notLeader(after));

    const acceptedAt = (this.#o.now?.() ?? new Date()).toISOString();
    const messages: ChangeMessage[] = [];
    const answers: number[][] = [];
    let i = 0;
    for (const p of turn) {
      const mine: number[] = [];
      for (const change of p.changes) {
        const id = ids[i++]!;
        mine.push(id);
        messages.push({ ...change, id, acceptedAt } as ChangeMessage);
      }
      answers.push(mine);
    }

    const started = performance.now();
    const write = this.#o.log.write(messages);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#o.writeTimeoutMs);
    });
    try {
      const outcome = await Promise.race([write.then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout') {
        this.#o.logger.warn({ messages: size, timeoutMs: this.#o.writeTimeoutMs }, 'Kafka write timed out');
        fail(kafkaDown());
        // Never let a late write overtake the next one: wait for it to settle either way.
        await write.catch(() => undefined);
        return;
      }
    } catch (err) {
      this.#o.logger.warn({ err, messages: size }, 'Kafka write failed');
      return fail(kafkaDown(err));
    } finally {
      clearTimeout(timer);
    }
    this.#o.hooks?.onWritten?.(size, turn.length, performance.now() - started);
    for (let k = 0; k < turn.length; k++) turn[k]!.resolve(answers[k]!);
  }
}

function notLeader(state: LeaderState): ImatchError {
  const where =
    state.leaderUrl === undefined ? 'no leader is elected yet' : `the leader is ${state.leaderUrl}`;
  return new ImatchError('IM_ERR_NOT_LEADER', `this dispatch instance does not assign ids; ${where}`, {
    details: { leaderUrl: state.leaderUrl ?? null },
  });
}

function kafkaDown(cause?: unknown): ImatchError {
  return new ImatchError(
    'IM_ERR_KAFKA_UNAVAILABLE',
    'the changes could not be made durable in Kafka; nothing was acknowledged, retry shortly',
    cause === undefined ? undefined : { cause },
  );
}
