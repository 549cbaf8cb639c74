// Applies one change message to a column's IndexState (the rules are listed in column-index.ts).
// Idempotent: per entity the id of the last applied message is kept, and a message whose id is not
// above it is ignored, so duplicates, WAL replays and reordered deliveries leave the same index.
// Upserts carry the whole entity and replace it.
//
// Concurrency model: synchronous; one message is applied completely before anything else runs.
import type { ChangeMessage } from '../../../core/model.js';
import type { IndexState } from './index-state.js';

function fresh(s: IndexState, key: string, id: number): boolean {
  const last = s.lastIds.get(key);
  return last === undefined || id > last;
}

/** Returns true when the message was taken by this column, false when it was ignored. */
export function applyChange(s: IndexState, msg: ChangeMessage): boolean {
  switch (msg.entity) {
    case 'customer': {
      const key = `c:${msg.data.id}`;
      if (!fresh(s, key, msg.id)) return false;
      s.lastIds.set(key, msg.id);
      if (msg.op === 'upsert') s.putCustomer(msg.data);
      else s.deleteCustomer(msg.data.id);
      return true;
    }
    case 'offer': {
      const id = msg.data.id;
      if (!s.ownsOffer(id)) return false;
      const key = `o:${id}`;
      if (!fresh(s, key, msg.id)) return false;
      s.lastIds.set(key, msg.id);
      if (msg.op === 'upsert') s.putOffer(msg.data);
      else s.deleteOffer(id);
      return true;
    }
    case 'bidword': {
      const id = msg.data.id;
      const key = `b:${id}`;
      if (msg.op === 'upsert') {
        const row = msg.data;
        const ours = s.ownsOffer(row.offerId);
        // A bidword moved to an offer of another column must leave this one.
        if (!ours && !s.holdsBidword(id)) return false;
        if (!fresh(s, key, msg.id)) return false;
        s.lastIds.set(key, msg.id);
        if (ours) s.putBidword(row);
        else s.deleteBidword(id);
        return true;
      }
      // A delete names only the bidword, so any column may hold it. Remember the id even when
      // the bidword is not held here, so that a reordered older upsert cannot bring it back.
      if (!fresh(s, key, msg.id)) return false;
      s.lastIds.set(key, msg.id);
      return s.deleteBidword(id);
    }
    default:
      return false;
  }
}
