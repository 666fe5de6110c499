/**
 * Reads pinned to a block, remembered for the few most recent blocks: what one block answers does not change, so
 * every decision made at it shares one read (the position reader's market snapshot and eMode categories, the chain
 * gateway's fees). A read that fails is forgotten, so the next ask tries again.
 */
export class BlockMemo<V> {
  private readonly entries = new Map<string, { block: number; value: Promise<V> }>();

  /** `keepBlocks`: blocks below the newest asked minus this are forgotten. */
  constructor(private readonly keepBlocks = 4) {}

  /** The value for `key` at `block`, read by `load` the first time it is asked for. */
  get(block: number, key: string | number, load: () => Promise<V>): Promise<V> {
    const id = `${block}:${key}`;
    const known = this.entries.get(id);
    if (known) return known.value;
    const value = load();
    value.catch(() => this.entries.delete(id));
    this.remember(block, id, value);
    return value;
  }

  /** Remembers a value read some other way (unless one is already known for `key` at `block`). */
  set(block: number, key: string | number, value: V): void {
    const id = `${block}:${key}`;
    if (!this.entries.has(id)) this.remember(block, id, Promise.resolve(value));
  }

  private remember(block: number, id: string, value: Promise<V>): void {
    this.entries.set(id, { block, value });
    for (const [old, entry] of this.entries) if (entry.block < block - this.keepBlocks) this.entries.delete(old);
  }
}
