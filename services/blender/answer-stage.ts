// Where the blender runs answer.ts: on its main thread (InlineAnswers: tests, --answer-thread
// false) or on a worker thread of its own (AnswerThread, the default).
//
// Why a thread: the blender is the query path's serial stage. Under load one CPU sat idle while
// the other ran the blender alone (BENCHMARKS.md, "Evening of 2026-12-07": 434 of 819 ms idle, perf
// sched), and after its merger call a request's work is pure CPU on data it already holds: parsing
// the merger's answer, pricing, GCM click tokens, two JSON serializations. That work moves to the
// answer thread; the main thread keeps HTTP, query rewriting, admission and the merger calls.
//
// Batching: the jobs made in one turn of the main event loop leave in one message (sent from
// setImmediate, after the turn's I/O callbacks), and the worker answers each message with one, so
// under load a thread hop costs one wake-up per batch, not per request.
//
// Failure: a worker that exits or throws outside a job fails the jobs it held
// (IM_ERR_INTERNAL, logged) and is replaced at once, with the current click model; jobs sent
// after that go to the new worker. close() ends the worker after the jobs in flight.
//
// Concurrency: main thread only; `pending` maps job ids to their promises.
import type { Worker } from 'node:worker_threads';
import type { ClickKeyring } from '../../core/click-token.js';
import type { Logger } from '../../core/logger.js';
import { startWorker } from '../../core/worker-thread.js';
import { type AnswerContext, type AnswerJob, type AnswerResult, answerOf } from './answer.js';

export interface AnswerStage {
  run(job: AnswerJob): Promise<AnswerResult>;
  close(): Promise<void>;
}

/** answer.ts on the calling thread. */
export class InlineAnswers implements AnswerStage {
  constructor(private readonly ctx: AnswerContext) {}

  run(job: AnswerJob): Promise<AnswerResult> {
    return Promise.resolve(answerOf(job, this.ctx));
  }

  async close(): Promise<void> {}
}

/** Fixed for the worker's life (workerData). */
export interface AnswerWorkerData {
  keyring: ClickKeyring;
  clickBaseUrl: string;
  ctrPrior: number;
}

export type ToAnswerWorker =
  | { type: 'jobs'; ids: number[]; jobs: AnswerJob[] }
  /** A verified model file's bytes (learner/model-file.ts), to decode and use from now on. */
  | { type: 'model'; bytes: Uint8Array };

export type FromAnswerWorker = { type: 'results'; ids: number[]; results: AnswerResult[] };

interface Pending {
  resolve(result: AnswerResult): void;
}

const THREAD_FAILED = (cause: string): AnswerResult => ({
  ok: false,
  code: 'IM_ERR_INTERNAL',
  message: 'The answer thread failed',
  cause,
});

export class AnswerThread implements AnswerStage {
  private worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private ids: number[] = [];
  private jobs: AnswerJob[] = [];
  private scheduled = false;
  private model: Uint8Array | undefined;
  private closed = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly data: AnswerWorkerData,
    private readonly log: Logger,
  ) {
    this.worker = this.start();
  }

  run(job: AnswerJob): Promise<AnswerResult> {
    if (this.closed) return Promise.resolve(THREAD_FAILED('the answer thread is closed'));
    const id = ++this.nextId;
    const result = new Promise<AnswerResult>((resolve) => this.pending.set(id, { resolve }));
    this.ids.push(id);
    this.jobs.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return result;
  }

  /** The click model the `ctr` arm ranks with from now on: its verified file bytes. */
  setModel(bytes: Uint8Array): void {
    this.model = bytes;
    this.worker.postMessage({ type: 'model', bytes } satisfies ToAnswerWorker);
  }

  /** Jobs sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    const until = Date.now() + 5_000;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await this.worker.terminate();
    await this.exited;
  }

  private start(): Worker {
    const worker = startWorker(import.meta.url, 'answer-worker', { workerData: this.data });
    worker.on('message', (msg: FromAnswerWorker) => {
      for (let i = 0; i < msg.ids.length; i++) {
        const p = this.pending.get(msg.ids[i]!);
        if (p === undefined) continue;
        this.pending.delete(msg.ids[i]!);
        p.resolve(msg.results[i]!);
      }
    });
    const ended = new Promise<void>((resolve) => {
      worker.once('error', (err) => this.fail(worker, `error: ${err.message}`));
      worker.once('exit', (code) => {
        this.fail(worker, `exit ${code}`);
        resolve();
      });
    });
    this.exited = ended;
    if (this.model !== undefined)
      worker.postMessage({ type: 'model', bytes: this.model } satisfies ToAnswerWorker);
    return worker;
  }

  /** The worker ended or broke: fail what it held, start another unless closing. */
  private fail(worker: Worker, why: string): void {
    if (worker !== this.worker) return;
    if (!this.closed) this.log.error({ why, lost: this.pending.size }, 'answer thread failed; restarting it');
    for (const p of this.pending.values()) p.resolve(THREAD_FAILED(why));
    this.pending.clear();
    if (!this.closed) {
      this.worker = this.start();
      void worker.terminate();
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.jobs.length === 0) return;
    const msg: ToAnswerWorker = { type: 'jobs', ids: this.ids, jobs: this.jobs };
    this.ids = [];
    this.jobs = [];
    this.worker.postMessage(msg);
  }
}
