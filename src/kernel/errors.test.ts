import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommonErrors, defineErrorCodes, ERROR_KINDS, fail, registeredErrorCodes } from './errors.js';

describe('errors', () => {
  it('map each kind to one HTTP status and one exit code', () => {
    assert.equal(ERROR_KINDS.validation.httpStatus, 400);
    assert.equal(ERROR_KINDS.not_found.httpStatus, 404);
    assert.equal(ERROR_KINDS.unauthenticated.httpStatus, 401);
    assert.equal(ERROR_KINDS.forbidden.httpStatus, 403);
    for (const mapping of Object.values(ERROR_KINDS)) {
      assert.ok(mapping.httpStatus >= 400 && mapping.httpStatus < 600);
      assert.ok(mapping.exitCode > 0 && mapping.exitCode < 128);
    }
  });

  it('carry the field, the record and the code of their domain', () => {
    const Codes = defineErrorCodes('sample', {
      bad_rate: { kind: 'validation', title: 'Bad rate' },
      later: { kind: 'conflict', title: 'Try later', retryable: true },
    });
    const error = fail(Codes.bad_rate, 'rate must not be negative', { field: 'rate', record: 'line 7' });
    assert.equal(error.code, 'sample.bad_rate');
    assert.equal(error.httpStatus, 400);
    assert.equal(error.exitCode, 65);
    assert.equal(error.field, 'rate');
    assert.equal(error.record, 'line 7');
    assert.equal(error.retryable, false);
    assert.equal(Codes.later.retryable, true, 'a code may override its kind');
    assert.ok(registeredErrorCodes().some((d) => d.code === 'sample.later'));
  });

  it('mark unavailability as retryable', () => {
    assert.equal(fail(CommonErrors.unavailable, 'down').retryable, true);
    assert.equal(fail(CommonErrors.internal, 'x').retryable, false);
  });
});
