// The report endpoints (JSON, or CSV with ?format=csv or `Accept: text/csv`):
//   GET /v1/reports/customers?day=D                         every customer active on the day
//   GET /v1/reports/customers/{id}?day=D                    one customer's day
//   GET /v1/reports/customers/{id}/breakdown?day=D&by=B     by offer, bidword, region or hour
//   GET /v1/reports/customers/{id}/hourly?from=D&to=D       hours over a range of days (<= 366)
//   GET /v1/reports/search-terms?customer=ID&day=D[&limit]  query text x bidword x match type
// Inputs are validated by schema (unknown parameters refused); a day that matches the pattern but
// is not on the calendar (2026-02-30) is refused by the handler with the same 400 shape.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImatchError } from '../../core/errors.js';
import { Id } from '../../core/model.js';
import { toCsv } from '../csv.js';
import {
  BREAKDOWNS,
  type Breakdown,
  breakdown,
  customerDay,
  customersDay,
  hourly,
  searchTerms,
} from '../queries.js';
import type { ReportStore } from '../store.js';
import { addDays, isCalendarDay } from '../time.js';

export const DAY_SCHEMA_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$';
const Day = (description: string) => Type.String({ pattern: DAY_SCHEMA_PATTERN, description });
const Format = Type.Optional(
  Type.Unsafe<'json' | 'csv'>({
    type: 'string',
    enum: ['json', 'csv'],
    description: 'json (default) or csv; `Accept: text/csv` also selects csv',
  }),
);
const ReportDay = Day('Report day YYYY-MM-DD in the report time zone (default: today)');

const Micros = Type.Integer({ minimum: 0 });
const FigureProps = {
  impressions: Type.Integer(),
  clicks: Type.Integer({ description: 'Charged clicks (each click id once, as billing charges it)' }),
  invalidClicks: Type.Integer({ description: 'Click decisions that were not billable' }),
  chargedMicros: Micros,
  refundedMicros: Micros,
  costMicros: Type.Integer({ description: "Charged minus refunded: billing's net for the day" }),
  ctr: Type.Number(),
  avgCpcMicros: Type.Integer(),
  avgPosition: Type.Number(),
};
const Counts = Type.Record(Type.String(), Type.Integer());

export const CustomerDayReport = Type.Object({
  customerId: Type.String(),
  day: Type.String(),
  timeZone: Type.String(),
  ...FigureProps,
  invalidByReason: Counts,
  decisionsByReason: Counts,
  refundedClicks: Type.Integer(),
  offlineForBudgetMs: Type.Integer({ description: 'Time offline for budget on the day (ms)' }),
  impressionsLostToBudget: Type.Integer({
    description:
      'Impressions lost to budget: ads of the customer that would have been among the shown ads of a page view while it was offline for its budget (counted from the PV records)',
  }),
});

export const SearchTermRow = Type.Object({
  query: Type.String({ description: 'The normalized query text ("" when the page view never arrived)' }),
  keyword: Type.String(),
  matchType: Type.String(),
  bidwordId: Type.String(),
  impressions: Type.Integer(),
  clicks: Type.Integer(),
  costMicros: Type.Integer(),
  ctr: Type.Number(),
  avgCpcMicros: Type.Integer(),
  avgPosition: Type.Number(),
});

const CustomerParams = Type.Object({ id: Id }, { additionalProperties: false });
const DayQuery = Type.Object(
  { day: Type.Optional(ReportDay), format: Format },
  { additionalProperties: false },
);
const BreakdownQuery = Type.Object(
  {
    day: Type.Optional(ReportDay),
    by: Type.Unsafe<Breakdown>({
      type: 'string',
      enum: [...BREAKDOWNS],
      description: `Dimension: ${BREAKDOWNS.join(', ')}`,
    }),
    format: Format,
  },
  { additionalProperties: false },
);
const HourlyQuery = Type.Object(
  { from: Day('First day YYYY-MM-DD'), to: Day('Last day YYYY-MM-DD (inclusive)'), format: Format },
  { additionalProperties: false },
);
const TermsQuery = Type.Object(
  {
    customer: Id,
    day: Type.Optional(ReportDay),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'Rows at most' }),
    ),
    format: Format,
  },
  { additionalProperties: false },
);

export interface ReportRouteDeps {
  store: ReportStore;
  timeZone: string;
  today: () => string;
}

function checkDay(day: string, name = 'day'): string {
  if (!isCalendarDay(day))
    throw new ImatchError('IM_ERR_BAD_QUERY', `Invalid parameter "${name}": ${day} is not a calendar day`);
  return day;
}

function wantsCsv(req: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = req.headers.accept ?? '';
  return accept.includes('text/csv') && !accept.includes('application/json');
}

function send(reply: FastifyReply, csv: boolean, body: unknown, rows: readonly object[], columns?: string[]) {
  if (!csv) return body;
  return reply.type('text/csv; charset=utf-8').send(toCsv(rows, columns));
}

const ok = (schema: TSchema) => ({ 200: schema });
const tags = ['reports'];

export function reportRoutes(app: FastifyInstance, deps: ReportRouteDeps): void {
  app.get(
    '/v1/reports/customers',
    { schema: { tags, summary: 'Every customer active on a day', querystring: DayQuery } },
    async (req, reply) => {
      const q = req.query as Static<typeof DayQuery>;
      const day = checkDay(q.day ?? deps.today());
      const rows = await customersDay(deps.store, day);
      return send(reply, wantsCsv(req, q.format), { day, timeZone: deps.timeZone, customers: rows }, rows);
    },
  );

  app.get(
    '/v1/reports/customers/:id',
    {
      schema: {
        tags,
        summary: "One customer's day",
        params: CustomerParams,
        querystring: DayQuery,
        response: ok(CustomerDayReport),
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof CustomerParams>;
      const q = req.query as Static<typeof DayQuery>;
      const report = await customerDay(deps.store, id, checkDay(q.day ?? deps.today()), deps.timeZone);
      return send(reply, wantsCsv(req, q.format), report, [report]);
    },
  );

  app.get(
    '/v1/reports/customers/:id/breakdown',
    {
      schema: {
        tags,
        summary: "One customer's day by offer, bidword, region or hour",
        params: CustomerParams,
        querystring: BreakdownQuery,
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof CustomerParams>;
      const q = req.query as Static<typeof BreakdownQuery>;
      const day = checkDay(q.day ?? deps.today());
      const rows = await breakdown(deps.store, id, day, q.by);
      return send(reply, wantsCsv(req, q.format), { customerId: id, day, by: q.by, rows }, rows);
    },
  );

  app.get(
    '/v1/reports/customers/:id/hourly',
    {
      schema: {
        tags,
        summary: "One customer's hours over a range of days",
        params: CustomerParams,
        querystring: HourlyQuery,
      },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof CustomerParams>;
      const q = req.query as Static<typeof HourlyQuery>;
      const from = checkDay(q.from, 'from');
      const to = checkDay(q.to, 'to');
      if (to < from || addDays(from, 366) <= to)
        throw new ImatchError(
          'IM_ERR_BAD_QUERY',
          `Invalid range ${from}..${to}: "to" must be from "from" to 366 days after it`,
        );
      const rows = await hourly(deps.store, id, from, to);
      return send(reply, wantsCsv(req, q.format), { customerId: id, from, to, rows }, rows, [
        'day',
        'hour',
        'impressions',
        'clicks',
        'costMicros',
      ]);
    },
  );

  app.get(
    '/v1/reports/search-terms',
    {
      schema: {
        tags,
        summary: 'What buyers searched that showed a customer’s ads, with the bidword and match type',
        querystring: TermsQuery,
        response: ok(
          Type.Object({ customerId: Type.String(), day: Type.String(), terms: Type.Array(SearchTermRow) }),
        ),
      },
    },
    async (req, reply) => {
      const q = req.query as Static<typeof TermsQuery>;
      const day = checkDay(q.day ?? deps.today());
      const terms = await searchTerms(deps.store, q.customer, day, q.limit ?? 1000);
      return send(reply, wantsCsv(req, q.format), { customerId: q.customer, day, terms }, terms, [
        'query',
        'keyword',
        'matchType',
        'bidwordId',
        'impressions',
        'clicks',
        'costMicros',
        'ctr',
        'avgCpcMicros',
        'avgPosition',
      ]);
    },
  );
}
