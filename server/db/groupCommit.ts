// Group commit: callers that want to write while a write is in progress wait here, in
// memory (holding no connection), and are then written together in ONE transaction.
// Under concurrency that turns many small serialised transactions into few large ones.
// If a merged write fails, each waiting request is written alone, so one bad request
// cannot fail the others: every request keeps its own all-or-nothing outcome. Not when
// the database is down: each request alone would fail the same way, one round trip after
// another, holding the write slot; the whole group fails at once (its callers retry).
//
// Up to `maxInFlight` writes may be under way at once (a pipeline): the next group is sent
// while the previous one is still being stored or its answer waits for the busy event
// loop, so the database never idles between groups.
export class GroupCommit<TItem, TResult> {
  private pending: { items: TItem[]; resolve: (r: TResult[]) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    /** Writes items in one transaction; answers one result per item, in order. */
    private readonly write: (items: TItem[]) => Promise<TResult[]>,
    /** Requests are merged up to this many items (a single larger request goes alone). */
    private readonly maxItems: number,
    /** Writes under way at once (asked before each write is started). */
    private readonly maxInFlight: () => number = () => 1,
    /** Whether a failure is the database's (unreachable), not one request's. */
    private readonly isOutage: (error: unknown) => boolean = () => false,
  ) {}

  submit(items: TItem[]): Promise<TResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight()) {
      const group = [this.pending.shift()!];
      let size = group[0]!.items.length;
      while (this.pending.length > 0 && size + this.pending[0]!.items.length <= this.maxItems) {
        const next = this.pending.shift()!;
        group.push(next);
        size += next.items.length;
      }
      this.inFlight++;
      void this.writeGroup(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async writeGroup(group: typeof this.pending): Promise<void> {
    try {
      const results = await this.write(group.flatMap((g) => g.items));
      let offset = 0;
      for (const g of group) {
        g.resolve(results.slice(offset, offset + g.items.length));
        offset += g.items.length;
      }
    } catch (error) {
      if (group.length === 1 || this.isOutage(error)) {
        for (const g of group) g.reject(error);
        return;
      }
      for (const g of group) {
        await this.write(g.items).then(g.resolve, g.reject);
      }
    }
  }
}
