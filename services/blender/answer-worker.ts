// The worker-thread side of answer-stage.ts AnswerThread: runs answer.ts for each batch of jobs
// the main thread sends and answers with one message per batch, in the batch's order. Protocol
// (structured clone): in ToAnswerWorker, out FromAnswerWorker (answer-stage.ts). A model message
// carries a model file the main thread has verified already (click-model.ts); it is decoded here
// and used for every job that arrives after it. A model that does not decode here keeps the one in
// use (the main thread refuses such a file before sending it, so this is a belt on the braces).
import { parentPort, workerData } from 'node:worker_threads';
import { CtrModel, decodeModel } from '../../learner/model-file.js';
import { answerOf } from './answer.js';
import type { AnswerWorkerData, FromAnswerWorker, ToAnswerWorker } from './answer-stage.js';

const port = parentPort;
if (port === null) throw new Error('answer-worker runs in a worker thread only');
const data = workerData as AnswerWorkerData;
let model: CtrModel | undefined;
const ctx = {
  keyring: data.keyring,
  clickBaseUrl: data.clickBaseUrl,
  ctrPrior: data.ctrPrior,
  clickModel: () => model,
};

port.on('message', (m: ToAnswerWorker) => {
  if (m.type === 'model') {
    try {
      model = new CtrModel(decodeModel(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)));
    } catch (err) {
      process.stderr.write(`answer-worker: model not decoded, the previous one stays: ${String(err)}\n`);
    }
    return;
  }
  const results = m.jobs.map((job) => answerOf(job, ctx));
  port.postMessage({ type: 'results', ids: m.ids, results } satisfies FromAnswerWorker);
});
