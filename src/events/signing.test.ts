import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  computeSignature,
  parseSignatureHeader,
  signPayload,
  verifySignature,
  webhookHeaders,
} from './signing.js';

const secret = 'whsec_test-secret';
const body = '{"id":"evt_1","type":"invoice.issued","data":{"total":"12.50"}}';
const t = 1_767_225_600; // 2026-01-01T00:00:00Z

describe('webhook signing', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 in the documented header format', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.equal(signPayload(body, secret, t), `t=${t},v1=${expected}`);
    assert.equal(computeSignature(t, Buffer.from(body), secret), expected);
  });

  it('verifies its own signatures within the tolerance, on either side of the clock', () => {
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, body, secret, t), true);
    assert.equal(verifySignature(header, Buffer.from(body), secret, t + 300), true);
    assert.equal(verifySignature(header, body, secret, t - 300), true);
  });

  it('rejects stale or future timestamps beyond the tolerance', () => {
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, body, secret, t + 301), false);
    assert.equal(verifySignature(header, body, secret, t - 301), false);
    assert.equal(verifySignature(header, body, secret, t + 1000, 1000), true);
  });

  it('rejects a changed body, a wrong secret, a changed timestamp and malformed headers', () => {
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, `${body} `, secret, t), false);
    assert.equal(verifySignature(header, body, 'whsec_other', t), false);
    assert.equal(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, t), false);
    for (const bad of [
      undefined,
      '',
      'garbage',
      `t=${t}`,
      `v1=${'a'.repeat(64)}`,
      `t=abc,v1=${'a'.repeat(64)}`,
    ]) {
      assert.equal(verifySignature(bad, body, secret, t), false, String(bad));
    }
    assert.equal(verifySignature(`t=${t},v1=short`, body, secret, t), false);
  });

  it('accepts a header listing several v1 signatures when one of them matches', () => {
    const good = computeSignature(t, body, secret);
    const header = `t=${t},v1=${'0'.repeat(64)},v1=${good},v0=ignored`;
    assert.equal(verifySignature(header, body, secret, t), true);
    assert.deepEqual(parseSignatureHeader(header)?.signatures, ['0'.repeat(64), good]);
  });

  it('round-trips any body and secret', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (b, s, ts) => {
          assert.equal(verifySignature(signPayload(b, s, ts), b, s, ts), true);
        },
      ),
    );
  });

  it('builds the delivery headers', () => {
    const headers = webhookHeaders({
      eventId: 'evt_1',
      eventType: 'invoice.issued',
      deliveryId: 'whd_1',
      body,
      secret,
      timestampSec: t,
    });
    assert.equal(headers['Tollgate-Event-Id'], 'evt_1');
    assert.equal(headers['Tollgate-Event-Type'], 'invoice.issued');
    assert.equal(headers['Tollgate-Delivery-Id'], 'whd_1');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(verifySignature(headers['Tollgate-Signature'], body, secret, t), true);
    assert.ok(!Object.values(headers).some((v) => v.includes(secret)), 'the secret is never sent');
  });
});
