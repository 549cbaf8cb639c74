import { describe, expect, it } from 'vitest';
import { ipBlocked, settingsFromDocument } from './settings.js';
import { settings } from './testing.js';

describe('click-filter run-time settings', () => {
  it('an empty ZooKeeper node means the configured defaults', () => {
    const d = settings();
    const s = settingsFromDocument(d, '', 'zookeeper v0');
    expect(s.ipRateMax).toBe(d.ipRateMax);
    expect(s.source).toBe('zookeeper v0');
  });
  it('overrides only the keys the document names', () => {
    const s = settingsFromDocument(settings({ ipRateMax: 5 }), '{"userRateMax": 9}', 'zk');
    expect(s.userRateMax).toBe(9);
    expect(s.ipRateMax).toBe(5);
  });
  it('keeps the configured block list when the document has none', () => {
    const d = settings({}, ['10.0.0.0/8']);
    expect(ipBlocked(settingsFromDocument(d, '{"userRateMax": 1}', 'zk').blockList, '10.1.2.3')).toBe(true);
  });
  it('refuses a document with unknown keys, wrong types or bad entries, naming each problem', () => {
    expect(() => settingsFromDocument(settings(), '{"userRateMax": -1, "nope": 1}', 'zk')).toThrow(
      /userRateMax|nope|must/,
    );
    expect(() => settingsFromDocument(settings(), 'not json', 'zk')).toThrow(/not JSON/);
    expect(() => settingsFromDocument(settings(), '{"blockedCidrs": ["1.2.3.4/99", "x"]}', 'zk')).toThrow(
      /"1\.2\.3\.4\/99".*"x"/,
    );
    expect(() => settingsFromDocument(settings(), '{"blockedUserAgents": ["("]}', 'zk')).toThrow(
      /regular expression/,
    );
  });
});
