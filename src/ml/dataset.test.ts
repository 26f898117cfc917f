import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrRowToDense } from './csr.ts';
import { parseUserItemText, splitLatestPerUser, splitRandomHoldout } from './dataset.ts';

describe('parseUserItemText', () => {
  it('parses the LightGCN format from a string and from lines, identically', () => {
    const text = '0 1 2 3\n1 0\n2\n3 5 5 2\r\n';
    const a = parseUserItemText(text);
    const b = parseUserItemText(text.split('\n'));
    for (const m of [a, b]) {
      expect(m.users).toBe(4);
      expect(m.items).toBe(6);
      expect(Array.from(m.csr.indptr)).toEqual([0, 3, 4, 4, 6]);
      expect(Array.from(m.csr.indices)).toEqual([1, 2, 3, 0, 2, 5]);
      expect(Array.from(m.csr.data)).toEqual([1, 1, 1, 1, 1, 1]); // duplicate (3, 5) collapses to 1
    }
  });

  it('imposes a larger shape and rejects malformed tokens with the line number', () => {
    expect(parseUserItemText('0 1\n', { users: 10, items: 20 }).csr.cols).toBe(20);
    expect(() => parseUserItemText('0 1\n1 x\n')).toThrow(/line 2/);
  });
});

describe('splitLatestPerUser', () => {
  it("puts each user's latest distinct items in test, keeps minTrain, dedupes to the latest time", () => {
    const split = splitLatestPerUser(
      {
        users: 3,
        items: 6,
        userIds: [0, 0, 0, 0, 0, 1, 2, 2, 0],
        itemIds: [0, 1, 2, 3, 4, 0, 5, 1, 0],
        timestamps: [1, 2, 3, 4, 5, 1, 10, 20, 9], // item 0 of user 0 re-seen at t = 9: latest
      },
      { testFraction: 0.4, minTrain: 1 },
    );
    expect(Array.from(csrRowToDense(split.test, 0))).toEqual([1, 0, 0, 0, 1, 0]); // 2 of 5: items 0 (t=9) and 4
    expect(Array.from(csrRowToDense(split.train, 0))).toEqual([0, 1, 1, 1, 0, 0]);
    expect(split.test.indptr[2]! - split.test.indptr[1]!).toBe(0); // single-item user stays in train
    expect(Array.from(csrRowToDense(split.test, 2))).toEqual([0, 1, 0, 0, 0, 0]);
  });

  it('train and test partition the distinct pairs (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 50 })), {
          maxLength: 60,
        }),
        (events) => {
          const split = splitLatestPerUser({
            users: 5,
            items: 7,
            userIds: events.map((e) => e[0]),
            itemIds: events.map((e) => e[1]),
            timestamps: events.map((e) => e[2]),
          });
          const distinct = new Set(events.map((e) => `${e[0]}:${e[1]}`));
          let total = 0;
          for (let u = 0; u < 5; u++) {
            const tr = csrRowToDense(split.train, u);
            const te = csrRowToDense(split.test, u);
            for (let i = 0; i < 7; i++) {
              expect(tr[i]! + te[i]!).toBe(distinct.has(`${u}:${i}`) ? 1 : 0);
              total += tr[i]! + te[i]!;
            }
            if (te.some((x) => x > 0)) expect(tr.some((x) => x > 0)).toBe(true);
          }
          expect(total).toBe(distinct.size);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('splitRandomHoldout', () => {
  it('partitions the entries, never empties a row, and is deterministic', () => {
    const m = parseUserItemText('0 1 2 3 4 5 6 7\n1 3\n2 0 1\n').csr;
    const a = splitRandomHoldout(m, 0.5, 9);
    const b = splitRandomHoldout(m, 0.5, 9);
    expect(Array.from(a.test.indices)).toEqual(Array.from(b.test.indices));
    expect(a.train.indices.length + a.test.indices.length).toBe(m.indices.length);
    for (let r = 0; r < m.rows; r++) expect(a.train.indptr[r + 1]! - a.train.indptr[r]!).toBeGreaterThan(0);
  });
});
