/**
 * The ordered lane of a person (a distinct_id) among `shards`: FNV-1a of its UTF-16 units, so
 * every intake (and its check threads) agrees without asking anyone.
 */
export function personShard(distinctId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < distinctId.length; i++) {
    hash ^= distinctId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** A person's lane: their ordered shard, or undefined (the unordered lane) when ordering is off. */
export function personLane(distinctId: string, shards: number): number | undefined {
  return shards > 0 ? personShard(distinctId, shards) : undefined;
}
