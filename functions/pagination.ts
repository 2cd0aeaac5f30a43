/**
 * Cursor pagination of SQLite listings, newest first: a page is the rows before a
 * cursor, and the cursor is the `seq` (rowid) of the last row served, which orders
 * rows by creation and stays stable as new rows arrive.
 */
export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

/** The `seq` below which a page starts. */
export function cursorSeq(cursor: string | undefined): number {
  return cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
}

/** `rows` fetched with `LIMIT limit + 1`: one extra row says whether another page follows. */
export function page<R extends { seq: number }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), next_cursor: rows.length > limit && last ? String(last.seq) : null };
}
