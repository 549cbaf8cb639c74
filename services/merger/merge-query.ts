// One merge, end to end: serialize the searcher request once, fan out to every column, merge the
// answers (P4PNormalSort), CDistinct, cut to n, ask deeper where CDistinct made the top n
// uncertain (merge.ts explains when), FieldFormatSort, and report coverage. Maps "no column
// answered" to 502/504 as core/merge-contract.ts documents.
//
// Concurrency: stateless per query; shared state is the balancer (synchronous bookkeeping).
import { ImatchError } from '../../core/errors.js';
import type { MergeRequest, MergeResponse } from '../../core/merge-contract.js';
import { MAX_K } from '../../core/search-contract.js';
import type { Balancer } from './balancer.js';
import type { ColumnOutcome, Fanout } from './fanout.js';
import { type ColumnAnswer, type ColumnHit, mergeAnswers } from './merge.js';

/** A merge's outcome: MergeResponse with its hits not yet written (field-format.ts writes them). */
export type MergeAnswer = Omit<MergeResponse, 'hits'> & { hits: ColumnHit[] };

export interface MergeQueryOptions {
  deadlineMs: number;
  perCustomerMax: number;
  minRetryMs: number;
  now?: () => number;
  /** Told when a merge asks columns again (metrics). */
  onDeepen?: (columns: readonly number[]) => void;
}

/**
 * The searcher request as JSON, keys in a fixed order and undefined options left out. It asks for
 * the lines form (core/hit-lines.ts) and passes `fields` on, so the searcher writes each hit's
 * JSON already projected and the merger copies it through without parsing it.
 */
function searchBody(req: MergeRequest, k: number): string {
  let body = `{"query":${JSON.stringify(req.query)},"k":${k}`;
  if (req.region !== undefined) body += `,"region":${JSON.stringify(req.region)}`;
  if (req.category !== undefined) body += `,"category":${JSON.stringify(req.category)}`;
  if (req.textExpansion !== undefined) body += `,"textExpansion":${req.textExpansion}`;
  if (req.fields !== undefined) body += `,"fields":${JSON.stringify(req.fields)}`;
  return `${body},"format":"lines"}`;
}

export class MergeQuery {
  private readonly now: () => number;

  constructor(
    private readonly balancer: Balancer,
    private readonly fanout: Fanout,
    private readonly options: MergeQueryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Throws ImatchError IM_ERR_NOT_READY / IM_ERR_UPSTREAM_DOWN / IM_ERR_UPSTREAM_TIMEOUT. */
  async merge(req: MergeRequest): Promise<MergeAnswer> {
    const started = performance.now();
    const columns = this.balancer.columnCount;
    if (columns === 0) throw new ImatchError('IM_ERR_NOT_READY', 'No index version discovered yet');
    const deadlineAt = this.now() + this.options.deadlineMs;
    const all = Array.from({ length: columns }, (_, c) => c);
    const outcomes = await this.fanout.askAll(all, searchBody(req, req.n), deadlineAt);

    const answers: (ColumnAnswer | undefined)[] = new Array(columns);
    let answered = 0;
    for (const o of outcomes) {
      if (o.hits === undefined) continue;
      answers[o.column] = { hits: o.hits, lostToBudget: o.lostToBudget, askedK: req.n };
      answered++;
    }
    if (answered === 0) throw noAnswer(outcomes);

    let outcome = mergeAnswers(answers, req.n, this.options.perCustomerMax);
    // Columns whose deeper answer the merge needed and did not get: their first answer is too
    // shallow to know the top n (an ad CDistinct would let in may be missing, and the prices
    // below it with it), so the answer is partial like one with a column missing.
    let incomplete = 0;
    if (outcome.deepen.length > 0 && deadlineAt - this.now() < this.options.minRetryMs) {
      incomplete = outcome.deepen.length;
    } else if (outcome.deepen.length > 0) {
      this.options.onDeepen?.(outcome.deepen);
      // A searcher expands by title text only when its bidword hits are fewer than k. A column
      // whose first answer had no text hit had at least n bidword hits: asking it for MAX_K with
      // expansion on would add text hits it never gave at k = n and reorder its list. Asking it
      // without expansion extends its first answer instead. A column that did expand keeps
      // expanding (its bidword hits are all there already; more text hits are more candidates).
      const plain: number[] = [];
      const expanding: number[] = [];
      for (const c of outcome.deepen) {
        if (answers[c]!.hits.some((h) => h.matchType === 'text')) expanding.push(c);
        else plain.push(c);
      }
      const rounds = await Promise.all([
        plain.length === 0
          ? []
          : this.fanout.askAll(plain, searchBody({ ...req, textExpansion: false }, MAX_K), deadlineAt),
        expanding.length === 0 ? [] : this.fanout.askAll(expanding, searchBody(req, MAX_K), deadlineAt),
      ]);
      // A column that fails the deeper round keeps its first answer, but the merge is then not
      // sure of its top n: the answer counts that column as not answered (degraded). (It used to
      // be called "shallower, still correct" and answered as whole: test:chaos showed whole
      // answers with another 5th ad and another 4th price than the fault-free answer.)
      for (const o of rounds.flat()) {
        if (o.hits !== undefined)
          answers[o.column] = { hits: o.hits, lostToBudget: o.lostToBudget, askedK: MAX_K };
        else incomplete++;
      }
      outcome = mergeAnswers(answers, req.n, this.options.perCustomerMax);
    }

    const answer: MergeAnswer = {
      hits: outcome.hits,
      coverage: { columns, answered: answered - incomplete },
      degraded: answered - incomplete < columns,
      tookUs: Math.round((performance.now() - started) * 1000),
    };
    if (outcome.lostToBudget.length > 0) answer.lostToBudget = outcome.lostToBudget;
    return answer;
  }
}

function noAnswer(outcomes: readonly ColumnOutcome[]): ImatchError {
  const reasons = outcomes.map((o) => `col-${o.column}: ${o.failure ?? 'unknown'}`).join(', ');
  if (outcomes.every((o) => o.failure === 'timeout')) {
    return new ImatchError('IM_ERR_UPSTREAM_TIMEOUT', `No column answered in time (${reasons})`);
  }
  return new ImatchError('IM_ERR_UPSTREAM_DOWN', `No column answered (${reasons})`);
}
