/**
 * The less common fields of a usage record (calling number, APN, rating group, cell, roaming
 * network, slice, QoS, event type and price, a reader's extras), stored together as one JSON text
 * beside the rated record, or nothing at all when the record has none: most voice records do not,
 * and a column per field would cost on every row of a load of millions.
 */
import type { UsageInput } from './model.js';

export interface UsageDetail {
  readonly callingNumber?: string;
  readonly apn?: string;
  readonly ratingGroup?: number;
  readonly cellId?: string;
  readonly roaming?: boolean;
  readonly visitedMccMnc?: string;
  readonly snssai?: string;
  readonly qos?: string;
  readonly eventType?: string;
  readonly price?: { readonly amount: string; readonly currency: string };
  readonly extra?: Readonly<Record<string, string>>;
  /** On a re-rating delta: the run that wrote it. */
  readonly rerateRunId?: string;
}

/** The detail text of a record, or null when it has none of the fields. */
export function detailOf(input: UsageInput, rerateRunId?: string): string | null {
  if (
    input.callingNumber === undefined &&
    input.apn === undefined &&
    input.ratingGroup === undefined &&
    input.cellId === undefined &&
    !input.roaming &&
    input.visitedMccMnc === undefined &&
    input.snssai === undefined &&
    input.qos === undefined &&
    input.eventType === undefined &&
    input.price === undefined &&
    input.extra === undefined &&
    rerateRunId === undefined
  ) {
    return null;
  }
  const detail: UsageDetail = {
    ...(input.callingNumber === undefined ? {} : { callingNumber: input.callingNumber }),
    ...(input.apn === undefined ? {} : { apn: input.apn }),
    ...(input.ratingGroup === undefined ? {} : { ratingGroup: input.ratingGroup }),
    ...(input.cellId === undefined ? {} : { cellId: input.cellId }),
    ...(input.roaming ? { roaming: true } : {}),
    ...(input.visitedMccMnc === undefined ? {} : { visitedMccMnc: input.visitedMccMnc }),
    ...(input.snssai === undefined ? {} : { snssai: input.snssai }),
    ...(input.qos === undefined ? {} : { qos: input.qos }),
    ...(input.eventType === undefined ? {} : { eventType: input.eventType }),
    ...(input.price === undefined ? {} : { price: input.price }),
    ...(input.extra === undefined ? {} : { extra: input.extra }),
    ...(rerateRunId === undefined ? {} : { rerateRunId }),
  };
  return JSON.stringify(detail);
}

export function parseDetail(text: string | null): UsageDetail {
  if (text === null || text === '') return {};
  return JSON.parse(text) as UsageDetail;
}
