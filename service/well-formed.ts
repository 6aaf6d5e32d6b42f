/**
 * Lone UTF-16 surrogates: JSON may spell them (`"\ud800"`), JavaScript strings hold them, but
 * they are not Unicode, and the app-server (Rust, UTF-8 only) drops a message that carries one
 * — so the request would hang until its timeout, after anything before it was already done.
 * Inputs are checked for them before anything acts on them.
 */

/** Where the first ill-formed string of a parsed JSON value is. */
export interface IllFormedString {
  /** JSON pointer of the value holding it (RFC 6901; `""` is the whole value). */
  pointer: string;
  /** Whether it is a property name of that value rather than a string value. */
  inKey: boolean;
}

// With the `u` flag a surrogate pair is one code point, so this matches only lone halves (the
// same test as String.prototype.isWellFormed, which the ES2023 lib we compile against lacks).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Whether `s` is well-formed UTF-16 (no lone surrogate). */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The first string (value or property name) in a parsed JSON value that is not well-formed
 * UTF-16, or undefined. Iterative: a 1 MiB body can nest deeper than the call stack.
 */
export function findIllFormedString(value: unknown): IllFormedString | undefined {
  const stack: { v: unknown; pointer: string }[] = [{ v: value, pointer: '' }];
  while (stack.length > 0) {
    const { v, pointer } = stack.pop() as { v: unknown; pointer: string };
    if (typeof v === 'string') {
      if (!isWellFormedText(v)) return { pointer, inKey: false };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], pointer: `${pointer}/${i}` });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [k] of entries) if (!isWellFormedText(k)) return { pointer, inKey: true };
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        stack.push({ v: child, pointer: `${pointer}/${escapePointer(k)}` });
      }
    }
  }
  return undefined;
}

/** A one-line description of where the lone surrogate is, for error messages. */
export function describeIllFormed(found: IllFormedString, what: string): string {
  const at = found.pointer === '' ? what : `${what} at ${JSON.stringify(found.pointer)}`;
  return `${at} has ${found.inKey ? 'a property name' : 'a string'} with a lone UTF-16 surrogate (not Unicode text)`;
}
