// Realistic ranked hits for the benchmarks that stand a canned service in for a real one
// (bench/merger-only.ts's canned searchers, bench/blender-only.ts's canned merger): field sizes
// like the generated data's, every hit a different customer (CDistinct drops none).
import type { SearchHit } from '../core/search-contract.js';

/** 100 hits of one column, best first. */
export function cannedHits(column: number): SearchHit[] {
  return Array.from({ length: 100 }, (_, i) => {
    const id = `o${column}${String(i).padStart(6, '0')}`;
    return {
      offerId: id,
      customerId: `c${column}${String(i).padStart(5, '0')}`,
      bidwordId: `b${column}${String(i).padStart(7, '0')}`,
      keyword: 'waterproof hiking boots',
      matchType: i % 3 === 0 ? 'exact' : i % 3 === 1 ? 'phrase' : 'broad',
      bidMicros: 2_000_000 - i * 10_000 - column * 5_000,
      qualityBp: 7_500,
      score: (2_000_000 - i * 10_000 - column * 5_000) * 7_500 * 90,
      title: `Waterproof Hiking Boots for Men, Breathable Leather Trekking Shoes ${id}`,
      category: 'apparel/shoes/hiking',
      imageUrl: `https://img.summit-outdoor-gear.example/p/${id}.jpg`,
      landingUrl: `https://www.summit-outdoor-gear.example/products/waterproof-hiking-boots-${id}`,
    };
  });
}
