/** Assertions shared by tests. */
import assert from 'node:assert/strict';
import { isTollgateError, type TollgateError } from '../kernel/errors.js';

export /** Runs `fn`, requires a TollgateError with `code`, and checks the field and message it carries. */
function assertFails(
  fn: () => unknown,
  code: string,
  expected: { field?: string; mentions?: readonly string[] } = {},
): TollgateError {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  assert.ok(threw, `expected ${code}, but nothing was thrown`);
  assert.ok(isTollgateError(thrown), `expected a TollgateError, got ${String(thrown)}`);
  assert.equal(thrown.code, code);
  if ('field' in expected) assert.equal(thrown.field, expected.field);
  for (const text of expected.mentions ?? []) {
    assert.ok(
      thrown.message.includes(text),
      `message ${JSON.stringify(thrown.message)} should mention ${text}`,
    );
  }
  return thrown;
}
