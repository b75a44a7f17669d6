/**
 * Decoders for the small binary field types of 3GPP TS 32.298 records (pure, no ASN.1 library):
 * TBCD digit strings (IMSI, MSISDN), the 9-octet BCD `TimeStamp`, the 3-octet `PLMN-Id`, IP
 * addresses, two's-complement INTEGER contents, and the TS 29.274 User Location Information.
 *
 * Every decoder returns a value or a `FieldProblem` (the reason in words), never throws, so the
 * record mapper can name the field and the reason in its reject.
 */

/** Why a field could not be read; `reason` completes the sentence "<field> ...". */
export interface FieldProblem {
  readonly problem: string;
}

export type Decoded<T> = T | FieldProblem;

export function isProblem<T>(value: Decoded<T>): value is FieldProblem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}

function problem(text: string): FieldProblem {
  return { problem: text };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * TBCD digits (TS 29.002 TBCD-STRING): two digits per octet, the first in the low nibble; a
 * filler nibble 0xF ends the string (only in the last octet's high nibble, or as whole 0xFF
 * padding after it). Nibbles 0xA-0xE (*, #, a, b, c) are not digits of an IMSI or a number.
 */
export function decodeTbcd(bytes: Uint8Array): Decoded<string> {
  if (bytes.length === 0) return problem('is empty');
  let digits = '';
  let ended = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    for (const nibble of [byte & 0x0f, byte >> 4]) {
      if (nibble === 0x0f) {
        ended = true;
        continue;
      }
      if (ended) return problem(`has a digit after the 0xF filler in octet ${i + 1}`);
      if (nibble > 9) return problem(`holds the non-digit nibble 0x${nibble.toString(16)} in octet ${i + 1}`);
      digits += String.fromCharCode(48 + nibble);
    }
  }
  if (digits === '') return problem('holds no digits');
  return digits;
}

/** Encodes digits as TBCD (the inverse of `decodeTbcd`); for tests and fixtures. */
export function encodeTbcd(digits: string): Uint8Array {
  const out = new Uint8Array(Math.ceil(digits.length / 2));
  for (let i = 0; i < out.length; i++) {
    const low = digits.charCodeAt(2 * i) - 48;
    const high = 2 * i + 1 < digits.length ? digits.charCodeAt(2 * i + 1) - 48 : 0x0f;
    out[i] = (high << 4) | low;
  }
  return out;
}

/** Type of number of an ISDN-AddressString (TS 29.002 AddressString, bits 7-5 of octet 1). */
export const TYPE_OF_NUMBER = { unknown: 0, international: 1, national: 2 } as const;

export interface AddressString {
  readonly typeOfNumber: number;
  readonly numberingPlan: number;
  readonly digits: string;
}

/** ISDN-AddressString (MSISDN): octet 1 is extension/type-of-number/numbering-plan, then TBCD digits. */
export function decodeAddressString(bytes: Uint8Array): Decoded<AddressString> {
  if (bytes.length < 2) return problem(`has ${bytes.length} octet(s); an address string needs at least 2`);
  const first = bytes[0]!;
  if ((first & 0x80) === 0)
    return problem(
      `starts with 0x${first.toString(16).padStart(2, '0')}, not a type-of-number octet (bit 8 unset)`,
    );
  const digits = decodeTbcd(bytes.subarray(1));
  if (isProblem(digits)) return digits;
  return { typeOfNumber: (first >> 4) & 0x07, numberingPlan: first & 0x0f, digits };
}

/**
 * TS 32.298 TimeStamp: 9 octets "YYMMDDhhmmssShhmm", every digit pair BCD (tens in the high
 * nibble), S the ASCII sign '+' or '-', then the local time's offset from UTC. The local time minus
 * the offset is UTC: 24-03-15 10:00:00 +0100 is 09:00:00Z. Years are 2000 + YY.
 */
export function decodeTimeStamp(bytes: Uint8Array): Decoded<number> {
  if (bytes.length !== 9) return problem(`has ${bytes.length} octets; a TimeStamp has 9`);
  const pairs: number[] = [];
  for (const index of [0, 1, 2, 3, 4, 5, 7, 8]) {
    const byte = bytes[index]!;
    const high = byte >> 4;
    const low = byte & 0x0f;
    if (high > 9 || low > 9)
      return problem(`octet ${index + 1} (0x${byte.toString(16).padStart(2, '0')}) is not two BCD digits`);
    pairs.push(high * 10 + low);
  }
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = pairs as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const sign = bytes[6]!;
  if (sign !== 0x2b && sign !== 0x2d)
    return problem(`has the sign octet 0x${sign.toString(16).padStart(2, '0')}; it must be '+' or '-'`);
  if (month < 1 || month > 12) return problem(`has month ${month}`);
  if (hour > 23 || minute > 59 || second > 59)
    return problem(`has the time ${hour}:${minute}:${second}, which is not a time of day`);
  if (offsetHours > 14 || offsetMinutes > 59)
    return problem(`has the UTC offset ${offsetHours}:${offsetMinutes}, beyond ±14:59`);
  const localMs = Date.UTC(2000 + year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over into March; a real date survives the round trip.
  if (new Date(localMs).getUTCDate() !== day || day < 1) return problem(`has day ${day} in month ${month}`);
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000;
  return sign === 0x2b ? localMs - offsetMs : localMs + offsetMs;
}

/** Encodes a TimeStamp for `utcMs` shown in local time at `offsetMinutes` east of UTC; for fixtures. */
export function encodeTimeStamp(utcMs: number, offsetMinutes: number): Uint8Array {
  const local = new Date(utcMs + offsetMinutes * 60_000);
  const bcd = (n: number): number => (Math.floor(n / 10) << 4) | (n % 10);
  const absolute = Math.abs(offsetMinutes);
  return Uint8Array.from([
    bcd(local.getUTCFullYear() % 100),
    bcd(local.getUTCMonth() + 1),
    bcd(local.getUTCDate()),
    bcd(local.getUTCHours()),
    bcd(local.getUTCMinutes()),
    bcd(local.getUTCSeconds()),
    offsetMinutes < 0 ? 0x2d : 0x2b,
    bcd(Math.floor(absolute / 60)),
    bcd(absolute % 60),
  ]);
}

/**
 * PLMN-Id (3 octets, as octets 2-4 of the TS 29.060 RAI): MCC digit 2|1, MNC digit 3|MCC digit 3,
 * MNC digit 2|1 (high|low nibble). MNC digit 3 is 0xF for a two-digit MNC. Returns "MCCMNC", 5 or
 * 6 digits: 62 F2 10 is MCC 262, MNC 01 → "26201".
 */
export function decodePlmnId(bytes: Uint8Array): Decoded<string> {
  if (bytes.length !== 3) return problem(`has ${bytes.length} octets; a PLMN-Id has 3`);
  const [b1, b2, b3] = [bytes[0]!, bytes[1]!, bytes[2]!];
  const mcc = [b1 & 0x0f, b1 >> 4, b2 & 0x0f];
  const mnc = [b3 & 0x0f, b3 >> 4];
  const mnc3 = b2 >> 4;
  if (mnc3 !== 0x0f) mnc.push(mnc3);
  if ([...mcc, ...mnc].some((digit) => digit > 9))
    return problem(`(${toHex(bytes)}) holds a nibble that is not a digit`);
  return [...mcc, ...mnc].join('');
}

/** Encodes "MCCMNC" (5 or 6 digits) as a PLMN-Id; for fixtures. */
export function encodePlmnId(mccMnc: string): Uint8Array {
  const d = [...mccMnc].map((c) => c.charCodeAt(0) - 48);
  const mnc3 = d.length === 6 ? d[5]! : 0x0f;
  return Uint8Array.from([(d[1]! << 4) | d[0]!, (mnc3 << 4) | d[2]!, (d[4]! << 4) | d[3]!]);
}

/** An IPv4 (4 octets) or IPv6 (16 octets) binary address as text. */
export function formatIpAddress(bytes: Uint8Array): Decoded<string> {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return groups.join(':');
  }
  return problem(`has ${bytes.length} octets; an IP address has 4 or 16`);
}

/**
 * The contents of a BER INTEGER (two's complement, big-endian) as a safe integer. Values past
 * 2^53 - 1 are refused, never rounded (docs/architecture.md: quantities are exact).
 */
export function decodeInteger(bytes: Uint8Array): Decoded<number> {
  if (bytes.length === 0) return problem('is an INTEGER with no content octets');
  let value = BigInt.asIntN(8, BigInt(bytes[0]!));
  for (let i = 1; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]!);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    return problem(`is ${value}, which does not fit a safe integer`);
  return Number(value);
}

/** Where the subscriber was, from a TS 29.274 User Location Information IE (or its JSON 5G form). */
export interface UserLocation {
  /** MCC-MNC of the serving network the location names. */
  readonly mccMnc?: string;
  /** "<mccmnc>-<ECI>" (E-UTRAN), "<mccmnc>-<NCI>" (NR) or "<mccmnc>-<LAC>-<CI>" (GERAN/UTRAN), decimal. */
  readonly cellId?: string;
  /** "<mccmnc>-<TAC>" with the TAC in decimal. */
  readonly tai?: string;
}

/** Octet lengths of the location fields a ULI IE may hold, in the order of its flag bits 1..8. */
const ULI_PARTS = [
  { name: 'CGI', length: 7 },
  { name: 'SAI', length: 7 },
  { name: 'RAI', length: 7 },
  { name: 'TAI', length: 5 },
  { name: 'ECGI', length: 7 },
  { name: 'LAI', length: 5 },
  { name: 'macro eNodeB id', length: 6 },
  { name: 'extended macro eNodeB id', length: 6 },
] as const;

/**
 * The content of a TS 29.274 ULI IE (the octets after its type, length and instance): a flags
 * octet, then each flagged part in order. The cell comes from the ECGI (28-bit ECI) or else the
 * CGI (LAC and CI); the tracking area from the TAI.
 */
export function decodeUserLocationInformation(bytes: Uint8Array): Decoded<UserLocation> {
  if (bytes.length < 1) return problem('is empty');
  const flags = bytes[0]!;
  let offset = 1;
  let mccMnc: string | undefined;
  let cellId: string | undefined;
  let tai: string | undefined;
  for (let bit = 0; bit < ULI_PARTS.length; bit++) {
    if ((flags & (1 << bit)) === 0) continue;
    const part = ULI_PARTS[bit]!;
    if (offset + part.length > bytes.length)
      return problem(
        `flags the ${part.name} but ends ${offset + part.length - bytes.length} octet(s) short of it`,
      );
    const field = bytes.subarray(offset, offset + part.length);
    offset += part.length;
    const plmn = decodePlmnId(field.subarray(0, 3));
    if (isProblem(plmn)) return problem(`has a ${part.name} whose PLMN ${plmn.problem}`);
    const u16 = (at: number): number => (field[at]! << 8) | field[at + 1]!;
    if (part.name === 'ECGI') {
      // The ECI is the low 28 bits of the last 4 octets (the high nibble is spare).
      const eci = ((field[3]! & 0x0f) << 24) | (field[4]! << 16) | (field[5]! << 8) | field[6]!;
      cellId = `${plmn}-${eci}`;
      mccMnc = plmn;
    } else if (part.name === 'CGI') {
      cellId ??= `${plmn}-${u16(3)}-${u16(5)}`;
      mccMnc ??= plmn;
    } else if (part.name === 'TAI') {
      tai = `${plmn}-${u16(3)}`;
      mccMnc ??= plmn;
    } else {
      mccMnc ??= plmn;
    }
  }
  return { mccMnc, cellId, tai };
}

interface JsonPlmn {
  mcc?: unknown;
  mnc?: unknown;
}

function jsonMccMnc(plmn: unknown): string | undefined {
  if (typeof plmn !== 'object' || plmn === null) return undefined;
  const { mcc, mnc } = plmn as JsonPlmn;
  if (typeof mcc !== 'string' || typeof mnc !== 'string' || !/^\d{3}$/.test(mcc) || !/^\d{2,3}$/.test(mnc))
    return undefined;
  return `${mcc}${mnc}`;
}

/**
 * The 5G UserLocation of TS 29.571 carried as JSON text in a CHF record's OCTET STRING: the
 * nrLocation's NCGI (36-bit NR cell id, hex) or the eutraLocation's ECGI (28-bit, hex), and the TAI.
 */
export function decodeJsonUserLocation(bytes: Uint8Array): Decoded<UserLocation> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return problem('is not JSON text (TS 29.571 UserLocation)');
  }
  if (typeof parsed !== 'object' || parsed === null) return problem('is not a JSON object');
  const root = parsed as Record<string, unknown>;
  for (const [key, cellKey, idKey] of [
    ['nrLocation', 'ncgi', 'nrCellId'],
    ['eutraLocation', 'ecgi', 'eutraCellId'],
  ] as const) {
    const location = root[key];
    if (typeof location !== 'object' || location === null) continue;
    const { tai: taiValue, [cellKey]: cell } = location as Record<string, unknown>;
    let mccMnc: string | undefined;
    let cellId: string | undefined;
    let tai: string | undefined;
    if (typeof cell === 'object' && cell !== null) {
      const { plmnId, [idKey]: id } = cell as Record<string, unknown>;
      const plmn = jsonMccMnc(plmnId);
      if (plmn !== undefined && typeof id === 'string' && /^[0-9a-fA-F]{1,9}$/.test(id)) {
        cellId = `${plmn}-${Number.parseInt(id, 16)}`;
        mccMnc = plmn;
      }
    }
    if (typeof taiValue === 'object' && taiValue !== null) {
      const { plmnId, tac } = taiValue as Record<string, unknown>;
      const plmn = jsonMccMnc(plmnId);
      if (plmn !== undefined && typeof tac === 'string' && /^[0-9a-fA-F]{4,6}$/.test(tac)) {
        tai = `${plmn}-${Number.parseInt(tac, 16)}`;
        mccMnc ??= plmn;
      }
    }
    return { mccMnc, cellId, tai };
  }
  return {};
}

/** RAT types of TS 29.061 (PGW-CDR rATType). */
export const GPRS_RAT_TYPES: Readonly<Record<number, string>> = {
  1: 'UTRAN',
  2: 'GERAN',
  3: 'WLAN',
  4: 'GAN',
  5: 'HSPA-Evolution',
  6: 'EUTRAN',
  7: 'Virtual',
  8: 'EUTRAN-NB-IoT',
  9: 'LTE-M',
  10: 'NR',
};

/** RAT types of TS 29.571 as numbered in the CHF record (TS 32.298 CHFChargingDataTypes RATType). */
export const CHF_RAT_TYPES: Readonly<Record<number, string>> = {
  1: 'UTRAN',
  2: 'GERAN',
  3: 'WLAN',
  6: 'EUTRAN',
  7: 'Virtual',
  51: 'NR',
  52: 'NR-U',
  53: 'EUTRAN-U',
  54: 'LTE-M',
  55: 'WIRELINE',
  56: 'WIRELINE-CABLE',
  57: 'WIRELINE-BBF',
  58: 'NR-REDCAP',
  65: 'TRUSTED-N3GA',
  66: 'TRUSTED-WLAN',
};
