/**
 * How the customer routes name the field at fault: every API error gives a JSON pointer into the
 * request (docs/api.md), so a use case's own names become pointers into the TMF body.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { bodyPointer } from './customers.js';

it('turns a use case field into a JSON pointer into the TMF body', () => {
  assert.equal(bodyPointer('timeZone'), '/body/timeZone');
  assert.equal(bodyPointer('creditLimit.amount'), '/body/creditLimit/amount');
  assert.equal(bodyPointer('customerId', { customerId: 'relatedParty/0/id' }), '/body/relatedParty/0/id');
  assert.equal(
    bodyPointer('contactMedium/0/characteristic/emailAddress'),
    '/body/contactMedium/0/characteristic/emailAddress',
  );
});

it('names the parts of identities and add-ons as the TMF body nests them', () => {
  assert.equal(bodyPointer('realizingResource/2/value'), '/body/realizingResource/2/value');
  assert.equal(bodyPointer('realizingResource/2/type'), '/body/realizingResource/2/@referredType');
  assert.equal(bodyPointer('realizingResource/0/until'), '/body/realizingResource/0/validFor/endDateTime');
  assert.equal(
    bodyPointer('productRelationship/1/offerCode'),
    '/body/productRelationship/1/product/productOffering/name',
  );
  assert.equal(
    bodyPointer('productRelationship/1/offerId'),
    '/body/productRelationship/1/product/productOffering/id',
  );
  assert.equal(bodyPointer('productRelationship/0/from'), '/body/productRelationship/0/product/startDate');
});

it('leaves pointers into the request and names that are no body field as they are', () => {
  assert.equal(bodyPointer('/querystring/value'), '/querystring/value');
  assert.equal(bodyPointer('/body/startDate'), '/body/startDate');
  assert.equal(bodyPointer('tariff MOBILE-STANDARD/versions'), 'tariff MOBILE-STANDARD/versions');
});
