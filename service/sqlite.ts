/**
 * better-sqlite3 for the Node that runs us: 13 (`better-sqlite3-napi`) on Node 22 and later, 12
 * on Node 20, or where 13 has no binary and 12 is safe (src/node-support.ts says why two). Every
 * connection the service opens (the store, the session index, its search workers) comes from
 * here, so one process never loads both.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { CodexSmError } from '../src/errors.js';
import { sqlitePackagesFor } from '../src/node-support.js';

/** The module's constructor and its namespace (13 keeps 12's API: @types/better-sqlite3 fits both). */
type Sqlite = typeof BetterSqlite3;

let loaded: Sqlite | undefined;

/**
 * The module, loaded on first use. Missing, or compiled for another Node (a node upgrade after
 * `npm install -g`), it is `sqlite_unavailable`, exit 78: restarting cannot fix it.
 */
export function sqlite(): Sqlite {
  loaded ??= loadSqlite(sqlitePackagesFor(process.versions.node));
  return loaded;
}

/**
 * The first of `packages` that opens a database (exported for the tests of missing and broken
 * ones). Opening is the test, not requiring: both majors load their binary only at the first
 * `new Database()`, so a package without a binary for this platform (13 on armhf) or one
 * compiled for another node (12 after a node upgrade) requires fine and fails there.
 */
export function loadSqlite(packages: readonly string[]): Sqlite {
  const require = createRequire(import.meta.url);
  const failures: { pkg: string; err: unknown }[] = [];
  for (const pkg of packages) {
    try {
      // A CommonJS addon; its default export is the Database class @types/better-sqlite3 describes.
      const Database = require(pkg) as Sqlite;
      new Database(':memory:').close();
      return Database;
    } catch (err) {
      failures.push({ pkg, err });
    }
  }
  const tried = failures.map((f) => `${f.pkg}: ${firstLine(f.err)}`).join('; ');
  throw new CodexSmError(
    'sqlite_unavailable',
    `cannot load a SQLite module on Node ${process.versions.node} (${tried})`,
    {
      hint: 'install codex-sm again with the node that runs it, without --omit=optional (`npm install -g codex-sm`), then `codex-sm restart`',
      cause:
        failures.length === 1 ? failures[0]?.err : new AggregateError(failures.map((f) => f.err)),
    },
  );
}

/**
 * Whether `err` is the module's SqliteError. Never loads the module: an error that came before
 * any database was opened (a mkdir that failed) is not one, and must not become a load failure.
 */
export function isSqliteError(err: unknown): err is InstanceType<Sqlite['SqliteError']> {
  return loaded !== undefined && err instanceof loaded.SqliteError;
}

/** Opens a database file (or ':memory:') with this Node's module. */
export function openSqlite(file: string, options?: BetterSqlite3.Options): BetterSqlite3.Database {
  const Database = sqlite();
  return new Database(file, options);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
