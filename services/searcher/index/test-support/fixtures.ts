// Small entity builders for the column-index unit tests (and the builder's tests).
import type { Bidword, ChangeMessage, Customer, Offer } from '../../../../core/model.js';
import type { ColumnIndex } from '../column-index.js';
import { createColumnIndex } from '../column-index.js';

export function customer(id: string, extra: Partial<Customer> = {}): Customer {
  return { id, name: `Customer ${id}`, status: 'online', dailyBudgetMicros: 100_000_000, ...extra };
}

export function offer(id: string, customerId: string, title: string, extra: Partial<Offer> = {}): Offer {
  return {
    id,
    customerId,
    title,
    category: 'apparel/shoes',
    imageUrl: `https://img.example.com/${id}.jpg`,
    landingUrl: `https://shop.example.com/${id}`,
    status: 'online',
    quality: 1,
    ...extra,
  };
}

export function bidword(
  id: string,
  offerId: string,
  keyword: string,
  matchType: Bidword['matchType'],
  bidMicros?: number,
  extra: Partial<Bidword> = {},
): Bidword {
  const b: Bidword = { id, offerId, keyword, matchType, status: 'online', ...extra };
  if (bidMicros !== undefined) b.bidMicros = bidMicros;
  return b;
}

export function oneColumn(
  customers: Customer[],
  offers: Offer[],
  bidwords: Bidword[],
  watermark = 0,
): ColumnIndex {
  return createColumnIndex({
    version: 'test',
    column: 0,
    columns: 1,
    watermark,
    customers,
    offers,
    bidwords,
  });
}

let nextId = 1000;
/** A change message with the next id (or the given one). */
export function msg(change: Omit<ChangeMessage, 'id' | 'acceptedAt'>, id = ++nextId): ChangeMessage {
  return { ...change, id, acceptedAt: new Date(0).toISOString() } as ChangeMessage;
}
