/** Helpers for the text readers' tests: settings, chunking, and collecting what a reader yields. */
import type { ReadItem, ReaderSettings, ReadStart, UsageReader } from '../model.js';

export const BERLIN: ReaderSettings = {
  source: 'switch-a',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
  timeZone: 'Europe/Berlin',
  identityType: 'msisdn',
};

/** The bytes cut into chunks of the given sizes (cycled); one chunk when no sizes are given. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[] = []): AsyncIterable<Uint8Array> {
  if (sizes.length === 0) {
    yield bytes;
    return;
  }
  let at = 0;
  let k = 0;
  while (at < bytes.length) {
    const size = Math.max(1, sizes[k++ % sizes.length] as number);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

export async function readAll(
  reader: UsageReader,
  content: string | Uint8Array,
  options: { settings?: ReaderSettings; start?: ReadStart; sizes?: readonly number[] } = {},
): Promise<ReadItem[]> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const start = options.start ?? { byteOffset: 0, line: 1 };
  const items: ReadItem[] = [];
  for await (const batch of reader(chunked(bytes, options.sizes), options.settings ?? BERLIN, start)) {
    assert(Array.isArray(batch) && batch.length > 0, 'batches are non-empty arrays');
    items.push(...batch);
  }
  return items;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function records(items: readonly ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'record' ? [item] : []));
}

export function rejects(items: readonly ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'reject' ? [item] : []));
}
