// Worker-thread entry of the build's row pool (row-pool.ts): first an init message with the
// snapshot's customer ids and the bucket count, then batches of snapshot lines, each answered
// with processBatch()'s result (typed arrays transferred). One batch at a time, in order.
import { parentPort } from 'node:worker_threads';
import {
  type BatchContext,
  type BatchKind,
  keywordNormalizer,
  processBatch,
  transferables,
} from './row-batch.js';

type Message =
  | { type: 'init'; customers: string[]; buckets: number }
  | { type: 'batch'; seq: number; kind: BatchKind; text: string };

let ctx: BatchContext | undefined;
parentPort!.on('message', (m: Message) => {
  if (m.type === 'init') {
    ctx = { buckets: m.buckets, customers: new Set(m.customers), keywordNorm: keywordNormalizer() };
    return;
  }
  try {
    const result = processBatch(m.kind, m.text, ctx!);
    parentPort!.postMessage({ seq: m.seq, result }, transferables(result));
  } catch (err) {
    parentPort!.postMessage({
      seq: m.seq,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});
