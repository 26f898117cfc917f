import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { commonSnapshot, formatSnapshot, parseSnapshot, unseenBy } from './snapshots.ts';

/** Whether a committed transaction `xid` is seen by snapshot `text` (PostgreSQL's pg_visible_in_snapshot). */
const sees = (text: string, xid: bigint) => {
  const s = parseSnapshot(text);
  return xid < s.xmax && !s.xip.includes(xid);
};

describe('watermark snapshots', () => {
  it('parses and prints the pg_snapshot text form, refusing anything else', () => {
    expect(parseSnapshot('748:748:')).toEqual({ xmin: 748n, xmax: 748n, xip: [] });
    expect(parseSnapshot('745:750:745,747')).toEqual({ xmin: 745n, xmax: 750n, xip: [745n, 747n] });
    expect(formatSnapshot({ xmin: 745n, xmax: 750n, xip: [747n, 745n, 747n] })).toBe('745:750:745,747');
    for (const bad of ['', '1:2', '1:2:3,', '3:2:', '1:5:7', '1:5:0', 'a:b:', '1:2:1;DROP'])
      expect(() => parseSnapshot(bad), bad).toThrow('not a pg_snapshot');
  });

  it('a common snapshot sees only what every watermark sees, and everything all of them see', () => {
    const marks = ['100:120:100,110', '105:130:105,125', '90:115:90'];
    const common = commonSnapshot(marks);
    for (let x = 80n; x < 140n; x++) expect(sees(common, x), String(x)).toBe(marks.every((m) => sees(m, x)));
    expect(commonSnapshot(['7:9:8'])).toBe('7:9:8');
    expect(() => commonSnapshot([])).toThrow();
  });

  it('the unseen-rows condition is a range from xmax plus one probe per running transaction (never from xmin)', () => {
    const text = (q: ReturnType<typeof unseenBy>) => JSON.stringify(q.queryChunks);
    expect(text(unseenBy(sql`x.xid`, '100:200:'))).not.toContain('ANY');
    const withRunning = text(unseenBy(sql`x.xid`, '90:200:100,150'));
    expect(withRunning).toContain('"200"');
    expect(withRunning).toContain('["100","150"]');
    expect(withRunning).not.toContain('"90"');
  });
});
