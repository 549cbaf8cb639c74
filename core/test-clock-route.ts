// PUT /v1/test/clock {offsetMs}: moves a service's OffsetClock, for tests and demos only (a
// service adds it only when run with --test-clock-endpoint true). Answers the new offset and
// time, plus whatever `after` adds (billing re-checks its held customers at once).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { OffsetClock } from './clock.js';

/** Spread into the config schema of a service that offers the test clock. */
export const TestClockSettings = {
  clockOffsetMs: Type.Integer({
    default: 0,
    description: "Shift of this service's clock (tests and demos only)",
  }),
  testClockEndpoint: Type.Boolean({
    default: false,
    description: 'Expose PUT /v1/test/clock to move the clock (tests only; never in production)',
  }),
};

const Body = Type.Object(
  { offsetMs: Type.Integer({ description: 'Shift of the service clock from real time (ms)' }) },
  { additionalProperties: false },
);

export function testClockRoute(
  app: FastifyInstance,
  clock: OffsetClock,
  after: () => Record<string, unknown> = () => ({}),
): void {
  app.put(
    '/v1/test/clock',
    { schema: { tags: ['operations'], summary: 'Moves the service clock (tests only)', body: Body } },
    async (req) => {
      clock.setOffset((req.body as { offsetMs: number }).offsetMs);
      return { offsetMs: clock.offset, nowMs: clock.now(), ...after() };
    },
  );
}
