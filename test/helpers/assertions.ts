/** Assertions several test files share. */
import { expect } from 'chai';
import { CodexSmError } from '../../src/errors.js';

/** The CodexSmError `p` rejects with; fails the test when it resolves or throws something else. */
export async function rejection(p: Promise<unknown>): Promise<CodexSmError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(CodexSmError);
    return e as CodexSmError;
  }
  throw new Error('expected a rejection');
}

/** The CodexSmError `fn` throws; fails the test when it returns or throws something else. */
export function thrown(fn: () => unknown): CodexSmError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CodexSmError);
    return e as CodexSmError;
  }
  throw new Error('expected a throw');
}
