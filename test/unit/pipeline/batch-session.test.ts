import { createBatchSession } from '../../../functions/pipeline/batch-session';

interface Member {
  id: string;
}

function session(participants: number, options: { maxBatchSize?: number; maxWaitMs?: number; fail?: string } = {}) {
  const flushed: string[][] = [];
  const s = createBatchSession<Member, string>({
    participants,
    maxBatchSize: options.maxBatchSize ?? 10,
    maxWaitMs: options.maxWaitMs ?? 60_000,
    participantOf: (m) => m.id,
    flush: async (members) => {
      flushed.push(members.map((m) => m.id));
      return new Map(members.map((m) => [m.id, m.id === options.fail ? new Error(`${m.id} failed`) : `sent ${m.id} with ${members.length - 1} others`]));
    },
  });
  return { s, flushed };
}

describe('batch session', () => {
  it('waits until every participant has joined or left, then sends the joined ones together', async () => {
    const { s, flushed } = session(4);
    const a = s.join({ id: 'a' });
    const b = s.join({ id: 'b' });
    s.leave('c');
    expect(flushed).toEqual([]);
    s.leave('d');
    await expect(Promise.all([a, b])).resolves.toEqual(['sent a with 1 others', 'sent b with 1 others']);
    expect(flushed).toEqual([['a', 'b']]);
  });

  it('leaving after joining changes nothing, and leaving twice counts once', async () => {
    const { s, flushed } = session(3);
    const a = s.join({ id: 'a' });
    s.leave('a');
    s.leave('b');
    s.leave('b');
    expect(flushed).toEqual([]);
    const c = s.join({ id: 'c' });
    await Promise.all([a, c]);
    expect(flushed).toEqual([['a', 'c']]);
  });

  it('cuts a round into batches of at most maxBatchSize', async () => {
    const { s, flushed } = session(5, { maxBatchSize: 2 });
    const joined = ['a', 'b', 'c', 'd', 'e'].map((id) => s.join({ id }));
    await Promise.all(joined);
    expect(flushed).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('does not wait past maxWaitMs for a slow participant; a late one forms the next round', async () => {
    jest.useFakeTimers();
    try {
      const { s, flushed } = session(3, { maxWaitMs: 3_000 });
      const a = s.join({ id: 'a' });
      const b = s.join({ id: 'b' });
      jest.advanceTimersByTime(2_999);
      expect(flushed).toEqual([]);
      jest.advanceTimersByTime(1);
      await Promise.all([a, b]);
      expect(flushed).toEqual([['a', 'b']]);
      await expect(s.join({ id: 'c' })).resolves.toBe('sent c with 0 others');
      expect(flushed).toEqual([['a', 'b'], ['c']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it("rejects only the member whose result is an error, and every member of a batch whose flush threw", async () => {
    const { s } = session(2, { fail: 'b' });
    const [a, b] = [s.join({ id: 'a' }), s.join({ id: 'b' })];
    await expect(a).resolves.toBe('sent a with 1 others');
    await expect(b).rejects.toThrow('b failed');

    const throwing = createBatchSession<Member, string>({
      participants: 2,
      maxBatchSize: 10,
      maxWaitMs: 1_000,
      participantOf: (m) => m.id,
      flush: async () => {
        throw new Error('node down');
      },
    });
    const both = [throwing.join({ id: 'x' }), throwing.join({ id: 'y' })];
    for (const member of both) await expect(member).rejects.toThrow('node down');
  });

  it('runs once() work once per key, however many members ask', async () => {
    const { s } = session(1);
    let runs = 0;
    const work = async () => ++runs;
    const results = await Promise.all([s.once('batch#1', work), s.once('batch#1', work), s.once('batch#2', work)]);
    expect(results).toEqual([1, 1, 2]);
    expect(runs).toBe(2);
  });
});
