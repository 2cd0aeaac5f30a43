/**
 * Adds `column` to a Durable Object's SQLite table made before the column existed (`CREATE TABLE IF NOT
 * EXISTS` leaves an older table as it was). `definition` is the column's type and default, which must
 * fill the rows already there.
 */
export function addColumnIfMissing(sql: SqlStorage, table: string, column: string, definition: string): void {
  const columns = sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray();
  if (!columns.some(({ name }) => name === column)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
}
