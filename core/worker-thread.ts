// Starts a worker thread on a module that sits next to the caller, from the build (dist/*.js) or
// from TypeScript sources (tsx, vitest), where the worker needs tsx's loader too.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker running `<name>.js` next to `callerUrl` (the caller's import.meta.url), or `<name>.ts`
 * through tsx when the caller itself runs from a .ts file.
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const url = new URL(`./${name}.ts`, callerUrl).href;
  return new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`,
    { ...options, eval: true },
  );
}
