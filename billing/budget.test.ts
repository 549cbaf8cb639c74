import { describe, expect, it } from 'vitest';
import type { Customer } from '../core/model.js';
import { decideBudget } from './budget.js';

const customer = (over: Partial<Customer> = {}): Customer => ({
  id: 'c1',
  name: 'Acme',
  status: 'online',
  dailyBudgetMicros: 10_000_000,
  ...over,
});

describe('daily budget transitions', () => {
  it('an online customer under budget stays as it is', () =>
    expect(
      decideBudget({ entity: customer(), entityMessageId: 5, hold: undefined, spentTodayMicros: 9_990_000 }),
    ).toEqual({
      kind: 'none',
    }));

  it('goes offline when spend reaches the budget exactly, with its whole entity', () =>
    expect(
      decideBudget({ entity: customer(), entityMessageId: 5, hold: undefined, spentTodayMicros: 10_000_000 }),
    ).toEqual({
      kind: 'offline',
      customer: customer({ status: 'offline', offlineReason: 'budget' }),
    }));

  it('a budget of 0 means no daily limit', () =>
    expect(
      decideBudget({
        entity: customer({ dailyBudgetMicros: 0 }),
        entityMessageId: 5,
        hold: undefined,
        spentTodayMicros: 1e9,
      }),
    ).toEqual({ kind: 'none' }));

  it('does not touch a customer the BP took offline or suspended', () => {
    for (const status of ['offline', 'suspended'] as const)
      expect(
        decideBudget({
          entity: customer({ status }),
          entityMessageId: 5,
          hold: undefined,
          spentTodayMicros: 2e7,
        }).kind,
      ).toBe('none');
  });

  it('stays offline while held and still over budget today', () =>
    expect(
      decideBudget({
        entity: customer({ status: 'offline' }),
        entityMessageId: 7,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0 },
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({ kind: 'none' }));

  it('comes back online on the next day (spend of the new day is under budget)', () =>
    expect(
      decideBudget({
        entity: customer({ status: 'offline', offlineReason: 'budget' }),
        entityMessageId: 7,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0 },
        spentTodayMicros: 0,
      }),
    ).toEqual({ kind: 'online', customer: customer({ status: 'online' }) }));

  it('comes back online when refunds bring spend under the budget', () =>
    expect(
      decideBudget({
        entity: customer({ status: 'offline' }),
        entityMessageId: 7,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0 },
        spentTodayMicros: 9_000_000,
      }).kind,
    ).toBe('online'));

  it('keeps the hold while its own offline change has not come back yet', () =>
    expect(
      decideBudget({
        entity: customer({ status: 'online' }),
        entityMessageId: 3,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0 },
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({ kind: 'none' }));

  it('releases the hold when the BP changed the customer since (a raised budget, or its own status)', () =>
    expect(
      decideBudget({
        entity: customer({ dailyBudgetMicros: 50_000_000 }),
        entityMessageId: 9,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0 },
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({ kind: 'release' }));

  it("a BP change that only raises the budget on billing's own offline entity keeps the hold (a raise, not a pause)", () => {
    // The BP's copy of billing's entity may leave the offline reason out.
    const sent = customer({ status: 'offline', offlineReason: 'budget' });
    expect(
      decideBudget({
        entity: customer({ status: 'offline', dailyBudgetMicros: 50_000_000 }),
        entityMessageId: 9,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0, sent },
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({ kind: 'adopt', messageId: 9 });
    // ...and once adopted, the raised budget is not spent: online again.
    expect(
      decideBudget({
        entity: customer({ status: 'offline', dailyBudgetMicros: 50_000_000 }),
        entityMessageId: 9,
        hold: { day: '2026-11-22', messageId: 9, sinceMs: 0, sent },
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({ kind: 'online', customer: customer({ status: 'online', dailyBudgetMicros: 50_000_000 }) });
  });

  it("a BP change to anything else than the budget (here the name) while offline is the BP's own pause", () =>
    expect(
      decideBudget({
        entity: customer({ status: 'offline', name: 'Acme (paused)' }),
        entityMessageId: 9,
        hold: { day: '2026-11-22', messageId: 7, sinceMs: 0, sent: customer({ status: 'offline' }) },
        spentTodayMicros: 10_000_000,
      }).kind,
    ).toBe('release'));

  it('after a release, an online customer with a raised budget stays online', () =>
    expect(
      decideBudget({
        entity: customer({ dailyBudgetMicros: 50_000_000 }),
        entityMessageId: 9,
        hold: undefined,
        spentTodayMicros: 10_000_000,
      }).kind,
    ).toBe('none'));

  it('after a release, a BP change that still leaves it over budget takes it offline again', () =>
    expect(
      decideBudget({
        entity: customer({ name: 'Acme 2' }),
        entityMessageId: 9,
        hold: undefined,
        spentTodayMicros: 10_000_000,
      }),
    ).toEqual({
      kind: 'offline',
      customer: customer({ name: 'Acme 2', status: 'offline', offlineReason: 'budget' }),
    }));

  it('re-sends a pending offline (not acknowledged before a crash) while over budget', () =>
    expect(
      decideBudget({
        entity: customer(),
        entityMessageId: 3,
        hold: { day: '2026-11-22', messageId: null, sinceMs: 0 },
        spentTodayMicros: 10_000_000,
      }).kind,
    ).toBe('offline'));

  it('a pending offline no longer needed becomes an online', () =>
    expect(
      decideBudget({
        entity: customer(),
        entityMessageId: 3,
        hold: { day: '2026-11-21', messageId: null, sinceMs: 0 },
        spentTodayMicros: 0,
      }).kind,
    ).toBe('online'));

  it('releases the hold of a deleted or unknown customer', () => {
    expect(
      decideBudget({
        entity: null,
        entityMessageId: 9,
        hold: { day: 'd', messageId: 1, sinceMs: 0 },
        spentTodayMicros: 0,
      }).kind,
    ).toBe('release');
    expect(
      decideBudget({ entity: undefined, entityMessageId: 0, hold: undefined, spentTodayMicros: 5 }).kind,
    ).toBe('none');
  });
});
