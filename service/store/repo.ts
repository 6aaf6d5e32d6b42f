/**
 * What the store's repositories share: the store, the clock, and the few one-row writes they all
 * make. Table and column names are our constants (object keys written in code), never input.
 */
import type { SqlArg } from './jobs.js';
import type { Store } from './store.js';

export abstract class StoreRepo {
  constructor(
    protected readonly store: Store,
    protected readonly now: () => number = Date.now,
  ) {}

  protected get db() {
    return this.store.db;
  }

  /** INSERT of one row, its columns named by the keys (inside the caller's transaction). */
  protected insertRow(table: string, row: Record<string, SqlArg>): void {
    const cols = Object.keys(row);
    this.db
      .prepare(
        `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      )
      .run(...Object.values(row));
  }

  /** Sets columns of the row with this id and its updated_at, in one transaction; false: no row. */
  protected updateRow(table: string, id: string, set: Record<string, SqlArg>): boolean {
    const cols = Object.keys(set).map((c) => `${c} = ?, `);
    return this.store.transaction(
      () =>
        this.db
          .prepare(`UPDATE ${table} SET ${cols.join('')}updated_at = ? WHERE id = ?`)
          .run(...Object.values(set), this.now(), id).changes === 1,
    );
  }

  /** Deletes the row with this id (ON DELETE CASCADE takes its children); false: no row. */
  protected deleteRow(table: string, id: string): boolean {
    return this.store.transaction(
      () => this.db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(id).changes === 1,
    );
  }
}
