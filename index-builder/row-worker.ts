// Worker-thread entry of the build's row pool (row-pool.ts): receives batches of snapshot lines,
// answers with processBatch() results. One batch at a time, in the order received.
import { parentPort } from 'node:worker_threads';
import { type BatchKind, keywordNormalizer, processBatch } from './row-batch.js';

interface Job {
  seq: number;
  kind: BatchKind;
  text: string;
  buckets: number;
}

const keywordNorm = keywordNormalizer();
parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({
      seq: job.seq,
      result: processBatch(job.kind, job.text, job.buckets, keywordNorm),
    });
  } catch (err) {
    parentPort!.postMessage({
      seq: job.seq,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});
