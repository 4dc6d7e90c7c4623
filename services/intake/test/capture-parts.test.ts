import { describe, expect, it } from 'vitest';
import { personShard } from '@sluice/core';
import { fromLaneKey, laneKey, partsByShard, withOverflow, type CapturePart } from '../src/capture-parts';

/** Two persons in different lanes of 8, found by trying names. */
function personsInTwoLanes(): [string, string] {
  const first = 'p0';
  for (let i = 1; ; i++) if (personShard(`p${i}`, 8) !== personShard(first, 8)) return [first, `p${i}`];
}

const bodyOf = (part: CapturePart) => JSON.parse(String(part.json));

describe('capture parts', () => {
  const [a, b] = personsInTwoLanes();
  const events = [a, b, a, b, a].map((person, n) => ({ event: 'e', distinct_id: person, properties: { n } }));

  it('keeps a body whole when ordering is off, and splits an array body by lane in order', () => {
    const text = JSON.stringify(events);
    expect(partsByShard(events, events.map((e) => e.distinct_id), 0, text)).toEqual([{ shard: undefined, json: text, events: 5 }]);
    const parts = partsByShard(events, events.map((e) => e.distinct_id), 8, text);
    expect(parts.map((part) => part.shard)).toEqual([personShard(a, 8), personShard(b, 8)]);
    expect(parts.map((part) => bodyOf(part).map((e: any) => e.properties.n))).toEqual([[0, 2, 4], [1, 3]]);
  });

  it('moves the last events of a hot person to the unordered lane, keeping the envelope', () => {
    const body = { api_key: 't', sent_at: '2026-01-01T00:00:00Z', batch: events };
    const parts = partsByShard(body, events.map((e) => e.distinct_id), 8, JSON.stringify(body));
    // a sent 3 events with room for 1: its last 2 overflow; b is untouched.
    const routed = withOverflow(parts, [[a, 3], [b, 2]], new Map([[a, 2]]));
    expect(routed.map((part) => part.shard)).toEqual([personShard(a, 8), personShard(b, 8), undefined]);
    expect(routed[1]).toBe(parts[1]);
    expect(bodyOf(routed[0]!).batch.map((e: any) => e.properties.n)).toEqual([0]);
    const overflow = bodyOf(routed[2]!);
    expect(overflow.batch.map((e: any) => e.properties.n)).toEqual([2, 4]);
    expect(overflow.sent_at).toBe('2026-01-01T00:00:00Z');
    expect(routed.reduce((sum, part) => sum + part.events, 0)).toBe(5);
  });

  it('sends a single-event body that overflows whole as it is', () => {
    const single = { event: 'e', distinct_id: a, api_key: 't' };
    const text = JSON.stringify(single);
    const parts = partsByShard(single, [a], 8, text);
    expect(withOverflow(parts, [[a, 1]], new Map([[a, 1]]))).toEqual([{ shard: undefined, json: text, events: 1 }]);
  });

  it('round-trips lane keys', () => {
    expect(fromLaneKey(laneKey('default', 3))).toEqual({ projectId: 'default', shard: 3 });
    expect(fromLaneKey(laneKey('default', undefined))).toEqual({ projectId: 'default', shard: undefined });
  });
});
