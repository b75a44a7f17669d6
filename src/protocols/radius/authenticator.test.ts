import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  accountingRequestAuthenticator,
  buildAccountingResponse,
  signAccountingRequest,
  verifyAccountingRequest,
} from './authenticator.js';
import { decodePacket, integerAttribute, textAttribute } from './codec.js';

const md5 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/**
 * An Accounting-Request laid out by hand, octet by octet, so the expected authenticator does not
 * come from the code under test:
 *   Code 4, Identifier 0x2a, Length 20 + 6 (Acct-Status-Type) + 9 (Acct-Session-Id "0000abc") = 35
 */
const ATTRIBUTES = Buffer.from([
  ...[40, 6, 0, 0, 0, 1], // Acct-Status-Type = Start
  ...[44, 9, ...Buffer.from('0000abc')], // Acct-Session-Id
]);
const SECRET = 'xyzzy5461';

function handBuiltRequest(authenticator: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([4, 0x2a, 0, 35]), authenticator, ATTRIBUTES]);
}

describe('radius accounting authenticators', () => {
  it('computes the Request Authenticator as MD5(Code+ID+Length+16 zeros+Attributes+Secret)', () => {
    const expected = md5(Buffer.from([4, 0x2a, 0, 35]), Buffer.alloc(16), ATTRIBUTES, Buffer.from(SECRET));
    const signed = signAccountingRequest(
      { identifier: 0x2a, attributes: [integerAttribute(40, 1), textAttribute(44, '0000abc')] },
      SECRET,
    );
    assert.deepEqual(signed, handBuiltRequest(expected));
    assert.deepEqual(accountingRequestAuthenticator(signed, SECRET), expected);
    assert.ok(verifyAccountingRequest(signed, SECRET));
  });

  it('refuses a wrong secret, an altered attribute or a forged authenticator', () => {
    const signed = signAccountingRequest(
      { identifier: 0x2a, attributes: [integerAttribute(40, 1), textAttribute(44, '0000abc')] },
      SECRET,
    );
    assert.equal(verifyAccountingRequest(signed, 'xyzzy5462'), false);
    const altered = Buffer.from(signed);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 1;
    assert.equal(verifyAccountingRequest(altered, SECRET), false);
    assert.equal(verifyAccountingRequest(handBuiltRequest(Buffer.alloc(16)), SECRET), false);
  });

  it('hashes only the Length octets: padding does not change the result', () => {
    const signed = signAccountingRequest({ identifier: 1, attributes: [integerAttribute(40, 2)] }, SECRET);
    const padded = Buffer.concat([signed, Buffer.from([1, 2, 3, 4])]);
    assert.ok(verifyAccountingRequest(padded, SECRET));
  });

  it('computes the Response Authenticator as MD5(Code+ID+Length+RequestAuth+Attributes+Secret)', () => {
    const requestAuthenticator = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const proxyState = Buffer.from([33, 5, 0x70, 0x73, 0x31]); // Proxy-State "ps1"
    const expected = md5(
      Buffer.from([5, 0x2a, 0, 25]),
      requestAuthenticator,
      proxyState,
      Buffer.from(SECRET),
    );
    const response = buildAccountingResponse(
      { identifier: 0x2a, authenticator: requestAuthenticator },
      [{ type: 33, value: Buffer.from('ps1') }],
      SECRET,
    );
    assert.deepEqual(response, Buffer.concat([Buffer.from([5, 0x2a, 0, 25]), expected, proxyState]));
    const decoded = decodePacket(response);
    assert.ok(decoded.ok);
    assert.equal(decoded.packet.code, 5);
  });

  it('accepts a binary secret', () => {
    const secret = new Uint8Array([0, 255, 1, 254]);
    const signed = signAccountingRequest({ identifier: 9, attributes: [] }, secret);
    const expected = md5(Buffer.from([4, 9, 0, 20]), Buffer.alloc(16), secret);
    assert.deepEqual(signed.subarray(4, 20), expected);
  });
});
