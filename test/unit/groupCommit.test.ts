// The group-commit queue: waiting requests are written together; a failed merged write
// is retried request by request so only the bad one fails, unless the database is down.
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../server/db/database.js';
import { GroupCommit } from '../../server/db/groupCommit.js';

function recorder(failOn?: string) {
  const writes: string[][] = [];
  const write = async (items: string[]) => {
    writes.push(items);
    await new Promise((r) => setTimeout(r, 5));
    if (failOn && items.includes(failOn)) throw new Error(`cannot write ${failOn}`);
    return items.map((i) => i.toUpperCase());
  };
  return { writes, write };
}

describe('GroupCommit', () => {
  it('writes the first request at once and merges those that wait, answering each its own results', async () => {
    const { writes, write } = recorder();
    const queue = new GroupCommit(write, 100);
    const results = await Promise.all([['a'], ['b', 'c'], ['d'], ['e', 'f']].map((items) => queue.submit(items)));
    expect(results).toEqual([['A'], ['B', 'C'], ['D'], ['E', 'F']]);
    expect(writes).toEqual([['a'], ['b', 'c', 'd', 'e', 'f']]);
  });

  it('merges no more than maxItems, and a larger request goes alone', async () => {
    const { writes, write } = recorder();
    const queue = new GroupCommit(write, 3);
    await Promise.all([['a'], ['b', 'c'], ['d', 'e'], ['f', 'g', 'h', 'i'], ['j']].map((items) => queue.submit(items)));
    expect(writes).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f', 'g', 'h', 'i'], ['j']]);
  });

  it('when a merged write fails, writes each request alone: only the bad one fails', async () => {
    const { writes, write } = recorder('bad');
    const queue = new GroupCommit(write, 100);
    const results = await Promise.allSettled([['a'], ['b'], ['bad', 'x'], ['c']].map((items) => queue.submit(items)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      ['A'],
      ['B'],
      'cannot write bad',
      ['C'],
    ]);
    expect(writes).toEqual([['a'], ['b', 'bad', 'x', 'c'], ['b'], ['bad', 'x'], ['c']]);
  });

  it('keeps serving after failures', async () => {
    const { write } = recorder('bad');
    const queue = new GroupCommit(write, 100);
    await expect(queue.submit(['bad'])).rejects.toThrow('cannot write bad');
    await expect(queue.submit(['ok'])).resolves.toEqual(['OK']);
  });

  it('with two writes in flight, sends the second at once and merges those that wait behind both', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const writes: string[][] = [];
    const queue = new GroupCommit(
      async (items: string[]) => {
        writes.push(items);
        mostAtOnce = Math.max(mostAtOnce, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return items.map((i) => i.toUpperCase());
      },
      100,
      () => 2,
    );
    const results = await Promise.all([['a'], ['b'], ['c'], ['d', 'e']].map((items) => queue.submit(items)));
    expect(results).toEqual([['A'], ['B'], ['C'], ['D', 'E']]);
    expect(writes).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    expect(mostAtOnce).toBe(2);
  });

  it('with two writes in flight, a failed merged write still fails only its bad request', async () => {
    const { writes, write } = recorder('bad');
    const queue = new GroupCommit(write, 100, () => 2);
    const results = await Promise.allSettled([['a'], ['b'], ['bad'], ['c']].map((items) => queue.submit(items)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      ['A'],
      ['B'],
      'cannot write bad',
      ['C'],
    ]);
    expect(writes).toEqual([['a'], ['b'], ['bad', 'c'], ['bad'], ['c']]);
    await expect(queue.submit(['ok'])).resolves.toEqual(['OK']);
  });

  it('while the database is down, fails the whole waiting group with one write, then serves again', async () => {
    const writes: string[][] = [];
    let down = true;
    const queue = new GroupCommit(
      async (items: string[]) => {
        writes.push(items);
        await new Promise((r) => setTimeout(r, 5));
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return items.map((i) => i.toUpperCase());
      },
      100,
      () => 1,
      isDatabaseUnavailable,
    );
    const results = await Promise.allSettled([['a'], ['b'], ['c'], ['d']].map((items) => queue.submit(items)));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'stored'))).toEqual([
      'ECONNREFUSED',
      'ECONNREFUSED',
      'ECONNREFUSED',
      'ECONNREFUSED',
    ]);
    // The first request alone, then the three that waited together: no request retried alone.
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);
    down = false;
    await expect(queue.submit(['ok'])).resolves.toEqual(['OK']);
  });
});
