// The in-memory index of one column: the interface the searcher service uses, and its loader.
// The data structure behind it lives in index-state.ts; retrieval in search.ts / match.ts, change
// application in apply-change.ts, segment parsing in load-segment.ts.
//
// Concurrency model: a ColumnIndex is a plain single-threaded object. search() is synchronous and
// never yields, and apply() is synchronous too, so on Node's one thread a search always sees the
// index either before or after a whole message, never half of one. Hot swap = load a new
// ColumnIndex beside the old one, replay messages with id > its watermark, then switch a reference.
//
// Retrieval semantics (exact; docs/index-format.md has the long form). After core/normalize
// tokenize() on both sides:
//  - exact: query tokens == bidword tokens; phrase: bidword tokens contiguous and in order inside
//    the query; broad: every bidword token appears in the query (set containment, any order).
//  - negative-exact: the offer is excluded when the normalized query equals the negative keyword;
//    negative-phrase: excluded when the query contains its tokens contiguously. Negatives exclude
//    the offer from text expansion as well.
//  - Filters: offer online; its customer present and online; bidword online with bid >= 1; the
//    request region (if any) in offer.regions (if set) and in customer.regions (if set); the
//    request category (if any) equal to the offer's category or a "/"-bounded prefix of it.
//  - score = core/ranking score(bid, qualityToBp(quality), matchType); each offer once with its
//    best bidword (score desc, then exact > phrase > broad, then bidword id ascending); hits in
//    compareRanked order; top k.
//  - Text expansion, only when bidwords gave fewer than k hits and req.textExpansion !== false:
//    offers whose normalized title tokens contain every query token, not already hit by a bidword,
//    passing the filters and negatives; matchType "text", with the offer's highest online
//    positive bid (ties: bidword id ascending; offers with no positive bidword are skipped).
//    Text hits only fill the places left: with B bidword hits (B < k), the best k - B text hits
//    join all B bidword hits, and the union is returned in compareRanked order.
//
// Change semantics (apply): the index holds three tables (customers, offers, bidwords) and joins
// them at query time, exactly as if the change had been applied to the snapshot and rebuilt:
//  - messages with id <= watermark are already in the version and ignored;
//  - per entity (customer c1, offer o1, bidword b1) the last applied id is kept; a message with an
//    id <= that is ignored (duplicates, replays, out-of-order), so apply is idempotent;
//  - customer messages apply to every column; offer messages only in columnOf(offer id); bidword
//    upserts in columnOf(bidword.offerId), and also in a column that holds the bidword under its
//    old offer (it moves out); bidword deletes wherever the bidword is held;
//  - an upsert carries the whole entity and replaces it; a bidword upsert with status offline
//    removes the bidword (the builder drops offline bidwords too); a bidword whose offer is not
//    present is kept aside and joins the offer when it arrives; deleting an offer keeps its
//    bidwords aside the same way (the tables are independent, as in the BP's database);
//  - offline offers and offers of offline/absent customers stay in the index (not served) because
//    a later change can bring them back.

export { createColumnIndex } from './column.js';
export { loadColumnIndex } from './load-segment.js';
export type {
  ColumnIndex,
  ColumnIndexInput,
  ColumnIndexStats,
  DumpedOffer,
  IndexDump,
  LoadOptions,
} from './types.js';
