import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createAsteriskReader } from './asterisk.js';
import { createFreeswitchCsvReader, freeswitchJsonToItem } from './freeswitch.js';
import { BERLIN, readAll, records, rejects } from './text-fixtures.js';

// Master.csv lines as cdr_csv writes them (loguniqueid=yes, loguserfield=yes: 18 columns).
const asterisk =
  '"","01512345678","004420794600","from-internal","""Alice"" <01512345678>","SIP/100-00000001","SIP/trunk-00000002","Dial","SIP/trunk/004420794600,60","2026-03-29 01:59:50","2026-03-29 03:00:05","2026-03-29 03:02:05",135,120,"ANSWERED","DOCUMENTATION","1774745990.1","vip"\n' +
  '"acct7","+491512345678","03012345678","from-internal","Bob <100>","SIP/100-00000003","","Dial","SIP/trunk/03012345678","2026-07-01 10:00:00","","2026-07-01 10:00:20",20,0,"NO ANSWER","DOCUMENTATION","1782900000.3",""\n' +
  '"","","030123","from-internal","","SIP/x","","Hangup","","2026-07-01 10:00:00","","2026-07-01 10:00:01",1,0,"FAILED","DOCUMENTATION","1782900000.4",""\n' +
  '"","01512345678","s","from-internal","","SIP/x","","Hangup","","2026-07-01 10:00:00","","2026-07-01 10:00:01",1,0,"FAILED","DOCUMENTATION"\n';

describe('Asterisk cdr_csv', () => {
  it('reads answered and unanswered calls, and rejects broken ones', async () => {
    const items = await readAll(createAsteriskReader(), asterisk);
    const [answered, unanswered] = records(items);
    assert.deepEqual(answered?.input, {
      service: 'voice',
      identityType: 'msisdn',
      identity: '491512345678',
      startMs: Date.parse('2026-03-29T01:00:05Z'),
      durationSec: 120,
      volumeUpBytes: 0,
      volumeDownBytes: 0,
      count: 0,
      roaming: false,
      callingNumber: '491512345678',
      calledNumber: '4420794600',
      sourceRecordId: '1774745990.1',
      extra: { disposition: 'ANSWERED', userfield: 'vip' },
    });
    assert.equal(unanswered?.input.durationSec, 0);
    assert.equal(unanswered?.input.startMs, Date.parse('2026-07-01T08:00:00Z'));
    assert.deepEqual(unanswered?.input.extra, { disposition: 'NO ANSWER', accountcode: 'acct7' });
    const [empty, oddColumns] = rejects(items);
    assert.equal(empty?.reason, 'missing_field');
    assert.equal(empty?.field, 'column 2 (src)');
    assert.match(empty?.message ?? '', /^switch-a line 3: column 2 \(src\) is empty/);
    // 16 columns is valid (no uniqueid); this one then fails on its 's' extension as called number.
    assert.equal(oddColumns?.reason, 'unparseable');
    assert.equal(oddColumns?.field, 'column 3 (dst)');
  });
  it('rejects unanswered calls when the source says so, and wrong column counts', async () => {
    const items = await readAll(createAsteriskReader({ unanswered: 'reject' }), asterisk);
    assert.equal(rejects(items)[0]?.reason, 'unsupported_record');
    const short = await readAll(createAsteriskReader(), '"","0151",1,2\n');
    assert.match(
      rejects(short)[0]?.message ?? '',
      /has 4 columns; an Asterisk Master.csv record has 16, 17, 18 or 21 \(too few\)/,
    );
  });
  it('gives identical items in any chunking (property)', async () => {
    const whole = await readAll(createAsteriskReader(), asterisk);
    assert.deepEqual(await readAll(createAsteriskReader(), asterisk, { sizes: [1] }), whole);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        async (sizes) => {
          assert.deepEqual(await readAll(createAsteriskReader(), asterisk, { sizes }), whole);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('resumes at a mid-file offset', async () => {
    const whole = await readAll(createAsteriskReader(), asterisk);
    const from = whole[1]!.position;
    const resumed = await readAll(createAsteriskReader(), Buffer.from(asterisk).subarray(from.byteOffset), {
      start: from,
    });
    assert.deepEqual(resumed, whole.slice(1));
  });
});

// The stock "example" template: 15 quoted columns.
const freeswitch =
  '"Alice","+491512345678","00442079460000","default","2026-10-25 02:29:50","2026-10-25 02:30:00","2026-10-25 02:32:00","130","120","NORMAL_CLEARING","2bbe83f7-5111-4b5b-9626-c5154608d4ee","","acct1","PCMA","PCMA"\n' +
  '"Bob","01512345678","030123456","default","2026-07-01 10:00:00","","2026-07-01 10:00:30","30","0","NO_ANSWER","8c1b9e2a-0000-4000-8000-000000000002","","","PCMA","PCMA"\n' +
  '"Eve","01512345678","030123456","default","2026-07-01 10:00:00","2026-07-01 10:00:05","2026-07-01 10:00:30","30","25.5","NORMAL_CLEARING","8c1b9e2a-0000-4000-8000-000000000003","","","PCMA"\n';

describe('FreeSWITCH mod_cdr_csv', () => {
  it('reads the default template', async () => {
    const items = await readAll(createFreeswitchCsvReader(), freeswitch);
    const [answered, unanswered] = records(items);
    assert.equal(answered?.input.identity, '491512345678');
    assert.equal(answered?.input.calledNumber, '442079460000');
    // 02:30 on the autumn day happens twice in Berlin: the first (CEST) is taken.
    assert.equal(answered?.input.startMs, Date.parse('2026-10-25T00:30:00Z'));
    assert.equal(answered?.input.durationSec, 120);
    assert.equal(answered?.input.sourceRecordId, '2bbe83f7-5111-4b5b-9626-c5154608d4ee');
    assert.deepEqual(answered?.input.extra, { hangupCause: 'NORMAL_CLEARING', accountcode: 'acct1' });
    assert.equal(unanswered?.input.durationSec, 0);
    assert.equal(unanswered?.input.startMs, Date.parse('2026-07-01T08:00:00Z'));
    const [tooFew] = rejects(items);
    assert.match(tooFew?.message ?? '', /line 3: has 14 columns; the template has 15 \(too few\)/);
  });
  it('reads a custom template by its column names', async () => {
    const reader = createFreeswitchCsvReader({
      columns: ['uuid', 'caller_id_number', 'destination_number', 'start_stamp', 'answer_stamp', 'billsec'],
    });
    const items = await readAll(
      reader,
      'abc,491512345678,442079460000,2026-01-15 12:00:00,2026-01-15 12:00:02,61\n',
    );
    assert.equal(records(items)[0]?.input.durationSec, 61);
    assert.equal(records(items)[0]?.input.startMs, Date.parse('2026-01-15T11:00:02Z'));
    assert.throws(() => createFreeswitchCsvReader({ columns: ['uuid'] }), /lack caller_id_number/);
  });
});

describe('FreeSWITCH mod_json_cdr', () => {
  const document = {
    'core-uuid': '6f1e5b4e-0000-4000-8000-00000000abcd',
    switchname: 'fs1',
    channel_data: { state: 'CS_REPORTING', direction: 'outbound' },
    variables: {
      uuid: '2bbe83f7-5111-4b5b-9626-c5154608d4ee',
      direction: 'outbound',
      caller_id_number: '%2B491512345678',
      destination_number: '00442079460000',
      start_epoch: '1774745990',
      start_uepoch: '1774745990123456',
      answer_epoch: '1774746005',
      answer_uepoch: '1774746005250000',
      billsec: '120',
      duration: '135',
      hangup_cause: 'NORMAL_CLEARING',
    },
    callflow: [
      {
        caller_profile: { caller_id_number: '+491512345678', destination_number: '00442079460000' },
        times: {},
      },
    ],
  };
  it('turns a posted document into a record (µs epochs, URL-encoded values)', () => {
    const item = freeswitchJsonToItem(JSON.stringify(document), BERLIN);
    assert.equal(item.kind, 'record');
    if (item.kind !== 'record') return;
    assert.equal(item.input.identity, '491512345678');
    assert.equal(item.input.calledNumber, '442079460000');
    assert.equal(item.input.startMs, 1_774_746_005_250);
    assert.equal(item.input.durationSec, 120);
    assert.equal(item.input.sourceRecordId, document.variables.uuid);
    assert.deepEqual(item.input.extra, { hangupCause: 'NORMAL_CLEARING', direction: 'outbound' });
  });
  it('uses the caller profile when variables lack a number, and start time when unanswered', () => {
    const variables = {
      ...document.variables,
      caller_id_number: '',
      answer_epoch: '0',
      answer_uepoch: '0',
      billsec: '0',
    };
    const item = freeswitchJsonToItem({ ...document, variables }, BERLIN);
    assert.equal(item.kind, 'record');
    if (item.kind !== 'record') return;
    assert.equal(item.input.identity, '491512345678');
    assert.equal(item.input.durationSec, 0);
    assert.equal(item.input.startMs, 1_774_745_990_123);
  });
  it('rejects what is not a CDR', () => {
    const notJson = freeswitchJsonToItem('{"variables":', BERLIN);
    assert.equal(notJson.kind === 'reject' && notJson.reason, 'malformed_record');
    const noUuid = freeswitchJsonToItem(
      { ...document, variables: { ...document.variables, uuid: '' } },
      BERLIN,
    );
    assert.equal(noUuid.kind === 'reject' && noUuid.field, 'variables.uuid');
    const badTime = freeswitchJsonToItem(
      { ...document, variables: { ...document.variables, answer_uepoch: 'soon' } },
      BERLIN,
    );
    assert.equal(badTime.kind === 'reject' && badTime.field, 'variables.answer_uepoch');
  });
});
