/**
 * The usage source and file the usage tests share (workflow, API and end-to-end tests): a CSV
 * switch export in Berlin time with a header line, and eight records whose outcome is known —
 * 4 rated, 3 rejected, 1 duplicate (see src/workflows/usage.test.ts for the arithmetic).
 */
export const TEST_NUMBERING = { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] };

export const TEST_CSV_MAPPING = {
  header: true,
  columns: ['id', 'type', 'a', 'b', 'start', 'seconds', 'up', 'down'],
  fields: {
    sourceRecordId: 'id',
    service: { column: 'type', map: { VOICE: 'voice', SMS: 'sms', DATA: 'data' } },
    identity: 'a',
    calledNumber: { column: 'b', optional: true },
    startMs: { column: 'start', format: 'datetime' },
    durationSec: { column: 'seconds', optional: true },
    volumeUpBytes: { column: 'up', optional: true },
    volumeDownBytes: { column: 'down', optional: true },
  },
};

export const TEST_CSV_HEADER = 'id,type,a,b,start,seconds,up,down';

/** A CSV source definition named `name`, with overrides. */
export function testCsvSource(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    format: 'csv',
    timeZone: 'Europe/Berlin',
    numbering: TEST_NUMBERING,
    mapping: TEST_CSV_MAPPING,
    ...extra,
  };
}

// Clara Weber (4915120000003) is on MOBILE-POSTPAID-M: 500 national minutes, 1000 SMS and 10 GB a
// month. Times are Berlin local (UTC+1 in November); 28 November 2026 is a Saturday.
export const TEST_CSV_LINES: readonly string[] = [
  TEST_CSV_HEADER,
  // 1. National mobile call, 300 s: all from the minutes allowance → 0.
  'c1,VOICE,015120000003,01701234567,2026-11-28 10:00:00,300,,',
  // 2. Call to the UK (WORLD): 125 s at 60/60 → 180 s = 3 × 0.99 + 0.25 connect = 3.22 EUR.
  'c2,VOICE,015120000003,00442079460000,2026-11-28 11:00:00,125,,',
  // 3. An SMS and 4. a data session: both from allowances → 0.
  'c3,SMS,015120000003,01701234567,2026-11-28 11:05:00,,,',
  'c4,DATA,015120000003,,2026-11-28 12:00:00,600,500000,1500000',
  // 5. Nobody holds this number: unknown_subscriber.
  'c5,VOICE,015199999999,01701234567,2026-11-28 12:30:00,60,,',
  // 6. A duration that is not a number: unparseable.
  'c6,VOICE,015120000003,00442079460000,2026-11-28 13:00:00,6O,,',
  // 7. The same record id as line 2: a duplicate.
  'c2,VOICE,015120000003,00442079460000,2026-11-28 11:00:00,125,,',
  // 8. After the time of import (2026-11-29T12:00Z): future_event.
  'c8,VOICE,015120000003,01701234567,2026-11-30 15:00:00,60,,',
];
