/**
 * The Diameter AVP and command dictionary (pure data plus lookups).
 *
 * Sources: RFC 6733 section 4.5 (base protocol AVPs) and section 9.8 (accounting AVPs), RFC 4006
 * section 12 as updated by RFC 8506 (credit-control AVPs), 3GPP TS 32.299 section 7.2 (3GPP
 * charging AVPs, vendor 10415) and TS 29.061 section 16.4.7 (the 3GPP-* AVPs carried in
 * PS-Information). The tables are data, so a deployment that meets an AVP we do not list can add
 * it with `createDictionary` instead of editing the codec.
 *
 * The M-bit rule of each AVP is the one its specification gives: `must` (the sender sets it),
 * `mustNot` (the sender never sets it, and a receiver rejects it set with 3009
 * DIAMETER_INVALID_AVP_BITS) or `may`. TS 32.299 lists the M bit of most 3GPP AVPs under "may", so
 * we send them without it: a peer that does not know one of them then ignores it instead of
 * failing the whole message with 5001.
 *
 * Types follow RFC 6733 section 4.2 and 4.3. IPFilterRule (RFC 6733 section 4.3.1) is ASCII text
 * in an OctetString, so it is listed here as UTF8String.
 */

/** The 3GPP vendor id (IANA enterprise number 10415). */
export const VENDOR_3GPP = 10415;

/** Application ids (RFC 6733 section 2.4, RFC 4006 section 1.3). */
export const DiameterApplication = {
  /** Base protocol messages (CER, DWR, DPR): application id 0. */
  Common: 0,
  /** The base accounting application (RFC 6733 section 9). */
  BaseAccounting: 3,
  /** Diameter Credit-Control (RFC 4006 / RFC 8506); 3GPP Gy and Ro run on it. */
  CreditControl: 4,
  /** A relay advertises this id: it carries every application. */
  Relay: 0xffffffff,
} as const;

/** Command codes (RFC 6733 section 3.1, RFC 4006 section 3). */
export const DiameterCommand = {
  CapabilitiesExchange: 257,
  ReAuth: 258,
  Accounting: 271,
  CreditControl: 272,
  AbortSession: 274,
  SessionTermination: 275,
  DeviceWatchdog: 280,
  DisconnectPeer: 282,
} as const;

export const DIAMETER_COMMAND_NAMES: Readonly<Record<number, { request: string; answer: string }>> = {
  257: { request: 'CER', answer: 'CEA' },
  258: { request: 'RAR', answer: 'RAA' },
  271: { request: 'ACR', answer: 'ACA' },
  272: { request: 'CCR', answer: 'CCA' },
  274: { request: 'ASR', answer: 'ASA' },
  275: { request: 'STR', answer: 'STA' },
  280: { request: 'DWR', answer: 'DWA' },
  282: { request: 'DPR', answer: 'DPA' },
};

/** The basic and derived data formats of RFC 6733 section 4.2 and 4.3. */
export type AvpType =
  | 'OctetString'
  | 'UTF8String'
  | 'DiameterIdentity'
  | 'DiameterURI'
  | 'Integer32'
  | 'Integer64'
  | 'Unsigned32'
  | 'Unsigned64'
  | 'Float32'
  | 'Float64'
  | 'Enumerated'
  | 'Time'
  | 'Address'
  | 'Grouped';

/** What the specification says about the M bit of an AVP. */
export type MandatoryRule = 'must' | 'may' | 'mustNot';

export interface AvpDefinition {
  readonly code: number;
  /** 0 for IETF AVPs; otherwise the vendor id carried in the AVP header (V bit set). */
  readonly vendorId: number;
  readonly name: string;
  readonly type: AvpType;
  readonly mandatory: MandatoryRule;
  /** For Enumerated AVPs: the value names, by value. */
  readonly values?: Readonly<Record<number, string>>;
}

type Row = readonly [
  code: number,
  name: string,
  type: AvpType,
  mandatory: MandatoryRule,
  values?: Readonly<Record<number, string>>,
];

// RFC 6733 section 4.5 and 9.8, plus the RADIUS-derived attributes Gy uses.
const IETF_AVPS: readonly Row[] = [
  [1, 'User-Name', 'UTF8String', 'must'],
  [11, 'Filter-Id', 'UTF8String', 'must'],
  [25, 'Class', 'OctetString', 'must'],
  [27, 'Session-Timeout', 'Unsigned32', 'must'],
  [30, 'Called-Station-Id', 'UTF8String', 'must'],
  [33, 'Proxy-State', 'OctetString', 'must'],
  [44, 'Acct-Session-Id', 'OctetString', 'must'],
  [50, 'Acct-Multi-Session-Id', 'UTF8String', 'must'],
  [55, 'Event-Timestamp', 'Time', 'must'],
  [85, 'Acct-Interim-Interval', 'Unsigned32', 'must'],
  [257, 'Host-IP-Address', 'Address', 'must'],
  [258, 'Auth-Application-Id', 'Unsigned32', 'must'],
  [259, 'Acct-Application-Id', 'Unsigned32', 'must'],
  [260, 'Vendor-Specific-Application-Id', 'Grouped', 'must'],
  [
    261,
    'Redirect-Host-Usage',
    'Enumerated',
    'must',
    {
      0: 'DONT_CACHE',
      1: 'ALL_SESSION',
      2: 'ALL_REALM',
      3: 'REALM_AND_APPLICATION',
      4: 'ALL_APPLICATION',
      5: 'ALL_HOST',
      6: 'ALL_USER',
    },
  ],
  [262, 'Redirect-Max-Cache-Time', 'Unsigned32', 'must'],
  [263, 'Session-Id', 'UTF8String', 'must'],
  [264, 'Origin-Host', 'DiameterIdentity', 'must'],
  [265, 'Supported-Vendor-Id', 'Unsigned32', 'must'],
  [266, 'Vendor-Id', 'Unsigned32', 'must'],
  [267, 'Firmware-Revision', 'Unsigned32', 'mustNot'],
  [268, 'Result-Code', 'Unsigned32', 'must'],
  [269, 'Product-Name', 'UTF8String', 'mustNot'],
  [270, 'Session-Binding', 'Unsigned32', 'must'],
  [
    271,
    'Session-Server-Failover',
    'Enumerated',
    'must',
    { 0: 'REFUSE_SERVICE', 1: 'TRY_AGAIN', 2: 'ALLOW_SERVICE', 3: 'TRY_AGAIN_ALLOW_SERVICE' },
  ],
  [272, 'Multi-Round-Time-Out', 'Unsigned32', 'must'],
  [
    273,
    'Disconnect-Cause',
    'Enumerated',
    'must',
    { 0: 'REBOOTING', 1: 'BUSY', 2: 'DO_NOT_WANT_TO_TALK_TO_YOU' },
  ],
  [
    274,
    'Auth-Request-Type',
    'Enumerated',
    'must',
    { 1: 'AUTHENTICATE_ONLY', 2: 'AUTHORIZE_ONLY', 3: 'AUTHORIZE_AUTHENTICATE' },
  ],
  [276, 'Auth-Grace-Period', 'Unsigned32', 'must'],
  [277, 'Auth-Session-State', 'Enumerated', 'must', { 0: 'STATE_MAINTAINED', 1: 'NO_STATE_MAINTAINED' }],
  [278, 'Origin-State-Id', 'Unsigned32', 'must'],
  [279, 'Failed-AVP', 'Grouped', 'must'],
  [280, 'Proxy-Host', 'DiameterIdentity', 'must'],
  [281, 'Error-Message', 'UTF8String', 'mustNot'],
  [282, 'Route-Record', 'DiameterIdentity', 'must'],
  [283, 'Destination-Realm', 'DiameterIdentity', 'must'],
  [284, 'Proxy-Info', 'Grouped', 'must'],
  [285, 'Re-Auth-Request-Type', 'Enumerated', 'must', { 0: 'AUTHORIZE_ONLY', 1: 'AUTHORIZE_AUTHENTICATE' }],
  [287, 'Accounting-Sub-Session-Id', 'Unsigned64', 'must'],
  [291, 'Authorization-Lifetime', 'Unsigned32', 'must'],
  [292, 'Redirect-Host', 'DiameterURI', 'must'],
  [293, 'Destination-Host', 'DiameterIdentity', 'must'],
  [294, 'Error-Reporting-Host', 'DiameterIdentity', 'mustNot'],
  [
    295,
    'Termination-Cause',
    'Enumerated',
    'must',
    {
      1: 'DIAMETER_LOGOUT',
      2: 'DIAMETER_SERVICE_NOT_PROVIDED',
      3: 'DIAMETER_BAD_ANSWER',
      4: 'DIAMETER_ADMINISTRATIVE',
      5: 'DIAMETER_LINK_BROKEN',
      6: 'DIAMETER_AUTH_EXPIRED',
      7: 'DIAMETER_USER_MOVED',
      8: 'DIAMETER_SESSION_TIMEOUT',
    },
  ],
  [296, 'Origin-Realm', 'DiameterIdentity', 'must'],
  [297, 'Experimental-Result', 'Grouped', 'must'],
  [298, 'Experimental-Result-Code', 'Unsigned32', 'must'],
  [299, 'Inband-Security-Id', 'Unsigned32', 'must'],
  [
    480,
    'Accounting-Record-Type',
    'Enumerated',
    'must',
    { 1: 'EVENT_RECORD', 2: 'START_RECORD', 3: 'INTERIM_RECORD', 4: 'STOP_RECORD' },
  ],
  [
    483,
    'Accounting-Realtime-Required',
    'Enumerated',
    'must',
    { 1: 'DELIVER_AND_GRANT', 2: 'GRANT_AND_STORE', 3: 'GRANT_AND_LOSE' },
  ],
  [485, 'Accounting-Record-Number', 'Unsigned32', 'must'],

  // RFC 4006 section 12 (credit control), with the M-bit rules RFC 8506 section 12 keeps.
  [411, 'CC-Correlation-Id', 'OctetString', 'may'],
  [412, 'CC-Input-Octets', 'Unsigned64', 'must'],
  [413, 'CC-Money', 'Grouped', 'must'],
  [414, 'CC-Output-Octets', 'Unsigned64', 'must'],
  [415, 'CC-Request-Number', 'Unsigned32', 'must'],
  [
    416,
    'CC-Request-Type',
    'Enumerated',
    'must',
    { 1: 'INITIAL_REQUEST', 2: 'UPDATE_REQUEST', 3: 'TERMINATION_REQUEST', 4: 'EVENT_REQUEST' },
  ],
  [417, 'CC-Service-Specific-Units', 'Unsigned64', 'must'],
  [
    418,
    'CC-Session-Failover',
    'Enumerated',
    'must',
    { 0: 'FAILOVER_NOT_SUPPORTED', 1: 'FAILOVER_SUPPORTED' },
  ],
  [419, 'CC-Sub-Session-Id', 'Unsigned64', 'must'],
  [420, 'CC-Time', 'Unsigned32', 'must'],
  [421, 'CC-Total-Octets', 'Unsigned64', 'must'],
  [422, 'Check-Balance-Result', 'Enumerated', 'must', { 0: 'ENOUGH_CREDIT', 1: 'NO_CREDIT' }],
  [423, 'Cost-Information', 'Grouped', 'must'],
  [424, 'Cost-Unit', 'UTF8String', 'must'],
  [425, 'Currency-Code', 'Unsigned32', 'must'],
  [426, 'Credit-Control', 'Enumerated', 'must', { 0: 'CREDIT_AUTHORIZATION', 1: 'RE_AUTHORIZATION' }],
  [
    427,
    'Credit-Control-Failure-Handling',
    'Enumerated',
    'must',
    { 0: 'TERMINATE', 1: 'CONTINUE', 2: 'RETRY_AND_TERMINATE' },
  ],
  [
    428,
    'Direct-Debiting-Failure-Handling',
    'Enumerated',
    'must',
    { 0: 'TERMINATE_OR_BUFFER', 1: 'CONTINUE' },
  ],
  [429, 'Exponent', 'Integer32', 'must'],
  [430, 'Final-Unit-Indication', 'Grouped', 'must'],
  [431, 'Granted-Service-Unit', 'Grouped', 'must'],
  [432, 'Rating-Group', 'Unsigned32', 'must'],
  [
    433,
    'Redirect-Address-Type',
    'Enumerated',
    'must',
    { 0: 'IPV4_ADDRESS', 1: 'IPV6_ADDRESS', 2: 'URL', 3: 'SIP_URI' },
  ],
  [434, 'Redirect-Server', 'Grouped', 'must'],
  [435, 'Redirect-Server-Address', 'UTF8String', 'must'],
  [
    436,
    'Requested-Action',
    'Enumerated',
    'must',
    { 0: 'DIRECT_DEBITING', 1: 'REFUND_ACCOUNT', 2: 'CHECK_BALANCE', 3: 'PRICE_ENQUIRY' },
  ],
  [437, 'Requested-Service-Unit', 'Grouped', 'must'],
  [438, 'Restriction-Filter-Rule', 'UTF8String', 'must'],
  [439, 'Service-Identifier', 'Unsigned32', 'must'],
  [440, 'Service-Parameter-Info', 'Grouped', 'may'],
  [441, 'Service-Parameter-Type', 'Unsigned32', 'may'],
  [442, 'Service-Parameter-Value', 'OctetString', 'may'],
  [443, 'Subscription-Id', 'Grouped', 'must'],
  [444, 'Subscription-Id-Data', 'UTF8String', 'must'],
  [445, 'Unit-Value', 'Grouped', 'must'],
  [446, 'Used-Service-Unit', 'Grouped', 'must'],
  [447, 'Value-Digits', 'Integer64', 'must'],
  [448, 'Validity-Time', 'Unsigned32', 'must'],
  [449, 'Final-Unit-Action', 'Enumerated', 'must', { 0: 'TERMINATE', 1: 'REDIRECT', 2: 'RESTRICT_ACCESS' }],
  [
    450,
    'Subscription-Id-Type',
    'Enumerated',
    'must',
    {
      0: 'END_USER_E164',
      1: 'END_USER_IMSI',
      2: 'END_USER_SIP_URI',
      3: 'END_USER_NAI',
      4: 'END_USER_PRIVATE',
    },
  ],
  [451, 'Tariff-Time-Change', 'Time', 'must'],
  [
    452,
    'Tariff-Change-Usage',
    'Enumerated',
    'must',
    { 0: 'UNIT_BEFORE_TARIFF_CHANGE', 1: 'UNIT_AFTER_TARIFF_CHANGE', 2: 'UNIT_INDETERMINATE' },
  ],
  [453, 'G-S-U-Pool-Identifier', 'Unsigned32', 'must'],
  [
    454,
    'CC-Unit-Type',
    'Enumerated',
    'must',
    {
      0: 'TIME',
      1: 'MONEY',
      2: 'TOTAL-OCTETS',
      3: 'INPUT-OCTETS',
      4: 'OUTPUT-OCTETS',
      5: 'SERVICE-SPECIFIC-UNITS',
    },
  ],
  [
    455,
    'Multiple-Services-Indicator',
    'Enumerated',
    'must',
    { 0: 'MULTIPLE_SERVICES_NOT_SUPPORTED', 1: 'MULTIPLE_SERVICES_SUPPORTED' },
  ],
  [456, 'Multiple-Services-Credit-Control', 'Grouped', 'must'],
  [457, 'G-S-U-Pool-Reference', 'Grouped', 'must'],
  [458, 'User-Equipment-Info', 'Grouped', 'may'],
  [
    459,
    'User-Equipment-Info-Type',
    'Enumerated',
    'may',
    { 0: 'IMEISV', 1: 'MAC', 2: 'EUI64', 3: 'MODIFIED_EUI64' },
  ],
  [460, 'User-Equipment-Info-Value', 'OctetString', 'may'],
  [461, 'Service-Context-Id', 'UTF8String', 'must'],
  // RFC 8506 section 8.64 onwards: the typed replacements for the RFC 4006 type/value pairs.
  [653, 'User-Equipment-Info-Extension', 'Grouped', 'may'],
  [654, 'User-Equipment-Info-IMEISV', 'OctetString', 'may'],
  [655, 'User-Equipment-Info-MAC', 'OctetString', 'may'],
  [656, 'User-Equipment-Info-EUI64', 'OctetString', 'may'],
  [657, 'User-Equipment-Info-ModifiedEUI64', 'OctetString', 'may'],
  [658, 'User-Equipment-Info-IMEI', 'OctetString', 'may'],
  [659, 'Subscription-Id-Extension', 'Grouped', 'may'],
  [660, 'Subscription-Id-E164', 'UTF8String', 'may'],
  [661, 'Subscription-Id-IMSI', 'UTF8String', 'may'],
  [662, 'Subscription-Id-SIP-URI', 'UTF8String', 'may'],
  [663, 'Subscription-Id-NAI', 'UTF8String', 'may'],
  [664, 'Subscription-Id-Private', 'UTF8String', 'may'],
  [665, 'Redirect-Server-Extension', 'Grouped', 'may'],
  [666, 'Redirect-Address-IPAddress', 'Address', 'may'],
  [667, 'Redirect-Address-URL', 'UTF8String', 'may'],
  [668, 'Redirect-Address-SIP-URI', 'UTF8String', 'may'],
  [669, 'QoS-Final-Unit-Indication', 'Grouped', 'may'],
];

// 3GPP TS 32.299 section 7.2 and TS 29.061 section 16.4.7 (vendor 10415).
const TGPP_AVPS: readonly Row[] = [
  // TS 29.061: the 3GPP-* AVPs of PS-Information. Binary ones stay OctetString.
  [2, '3GPP-Charging-Id', 'OctetString', 'may'],
  [3, '3GPP-PDP-Type', 'Enumerated', 'may', { 0: 'IPv4', 1: 'PPP', 2: 'IPv6', 3: 'IPv4v6', 4: 'Non-IP' }],
  [8, '3GPP-IMSI-MCC-MNC', 'UTF8String', 'may'],
  [9, '3GPP-GGSN-MCC-MNC', 'UTF8String', 'may'],
  [10, '3GPP-NSAPI', 'OctetString', 'may'],
  [11, '3GPP-Session-Stop-Indicator', 'OctetString', 'may'],
  [12, '3GPP-Selection-Mode', 'UTF8String', 'may'],
  [13, '3GPP-Charging-Characteristics', 'UTF8String', 'may'],
  [18, '3GPP-SGSN-MCC-MNC', 'UTF8String', 'may'],
  [21, '3GPP-RAT-Type', 'OctetString', 'may'],
  [22, '3GPP-User-Location-Info', 'OctetString', 'may'],
  [23, '3GPP-MS-TimeZone', 'OctetString', 'may'],

  // TS 32.299 section 7.2: IMS-Information and its children.
  [823, 'Event-Type', 'Grouped', 'may'],
  [824, 'SIP-Method', 'UTF8String', 'may'],
  [825, 'Event', 'UTF8String', 'may'],
  [829, 'Role-Of-Node', 'Enumerated', 'may', { 0: 'ORIGINATING_ROLE', 1: 'TERMINATING_ROLE' }],
  [830, 'User-Session-Id', 'UTF8String', 'may'],
  [831, 'Calling-Party-Address', 'UTF8String', 'may'],
  [832, 'Called-Party-Address', 'UTF8String', 'may'],
  [833, 'Time-Stamps', 'Grouped', 'may'],
  [834, 'SIP-Request-Timestamp', 'Time', 'may'],
  [835, 'SIP-Response-Timestamp', 'Time', 'may'],
  [838, 'Inter-Operator-Identifier', 'Grouped', 'may'],
  [839, 'Originating-IOI', 'UTF8String', 'may'],
  [840, 'Terminating-IOI', 'UTF8String', 'may'],
  [841, 'IMS-Charging-Identifier', 'UTF8String', 'may'],
  [846, 'CG-Address', 'Address', 'may'],
  [847, 'GGSN-Address', 'Address', 'may'],
  [861, 'Cause-Code', 'Integer32', 'may'],
  [
    862,
    'Node-Functionality',
    'Enumerated',
    'may',
    { 0: 'S-CSCF', 1: 'P-CSCF', 2: 'I-CSCF', 3: 'MRFC', 4: 'MGCF', 5: 'BGCF', 6: 'AS', 7: 'IBCF' },
  ],
  [1251, 'Requested-Party-Address', 'UTF8String', 'may'],

  // TS 32.299 section 7.2: the quota management AVPs of Multiple-Services-Credit-Control.
  [868, 'Time-Quota-Threshold', 'Unsigned32', 'may'],
  [869, 'Volume-Quota-Threshold', 'Unsigned32', 'may'],
  [
    870,
    'Trigger-Type',
    'Enumerated',
    'may',
    {
      1: 'CHANGE_IN_SGSN_IP_ADDRESS',
      2: 'CHANGE_IN_QOS',
      3: 'CHANGE_IN_LOCATION',
      4: 'CHANGE_IN_RAT',
      5: 'CHANGE_IN_UE_TIMEZONE',
      30: 'CHANGEINLOCATION_MCC',
      31: 'CHANGEINLOCATION_MNC',
      32: 'CHANGEINLOCATION_RAC',
      33: 'CHANGEINLOCATION_LAC',
      34: 'CHANGEINLOCATION_CellId',
      35: 'CHANGEINLOCATION_TAC',
      36: 'CHANGEINLOCATION_ECGI',
    },
  ],
  [871, 'Quota-Holding-Time', 'Unsigned32', 'may'],
  [
    872,
    'Reporting-Reason',
    'Enumerated',
    'may',
    {
      0: 'THRESHOLD',
      1: 'QHT',
      2: 'FINAL',
      3: 'QUOTA_EXHAUSTED',
      4: 'VALIDITY_TIME',
      5: 'OTHER_QUOTA_TYPE',
      6: 'RATING_CONDITION_CHANGE',
      7: 'FORCED_REAUTHORISATION',
      8: 'POOL_EXHAUSTED',
      9: 'UNUSED_QUOTA_TIMER',
    },
  ],
  [873, 'Service-Information', 'Grouped', 'may'],
  [874, 'PS-Information', 'Grouped', 'may'],
  [876, 'IMS-Information', 'Grouped', 'may'],
  [881, 'Quota-Consumption-Time', 'Unsigned32', 'may'],
  [1226, 'Unit-Quota-Threshold', 'Unsigned32', 'may'],
  [1258, 'Event-Charging-TimeStamp', 'Time', 'may'],
  [1264, 'Trigger', 'Grouped', 'may'],
  [1265, 'Base-Time-Interval', 'Unsigned32', 'may'],
  [1270, 'Time-Quota-Mechanism', 'Grouped', 'may'],
  [1271, 'Time-Quota-Type', 'Enumerated', 'may', { 0: 'DISCRETE_TIME_PERIOD', 1: 'CONTINUOUS_TIME_PERIOD' }],

  // TS 32.299: PS-Information children defined by 32.299 itself (and Charging-Rule-Base-Name, 29.212).
  [1004, 'Charging-Rule-Base-Name', 'OctetString', 'may'],
  [1227, 'PDP-Address', 'Address', 'may'],
  [1228, 'SGSN-Address', 'Address', 'may'],
  [2050, 'PDN-Connection-Charging-ID', 'Unsigned32', 'may'],
  [2064, 'Node-Id', 'UTF8String', 'may'],

  // TS 32.299: SMS-Information and its children.
  [897, 'Address-Data', 'UTF8String', 'may'],
  [898, 'Address-Domain', 'Grouped', 'may'],
  [
    899,
    'Address-Type',
    'Enumerated',
    'may',
    {
      0: 'EMAIL_ADDRESS',
      1: 'MSISDN',
      2: 'IPV4_ADDRESS',
      3: 'IPV6_ADDRESS',
      4: 'NUMERIC_SHORTCODE',
      5: 'ALPHANUMERIC_SHORTCODE',
      6: 'OTHER',
      7: 'IMSI',
    },
  ],
  [1201, 'Recipient-Address', 'Grouped', 'may'],
  [2000, 'SMS-Information', 'Grouped', 'may'],
  [2001, 'Data-Coding-Scheme', 'Integer32', 'may'],
  [
    2007,
    'SM-Message-Type',
    'Enumerated',
    'may',
    { 0: 'SUBMISSION', 1: 'DELIVERY_REPORT', 2: 'SM_SERVICE_REQUEST' },
  ],
  [2008, 'Originator-SCCP-Address', 'Address', 'may'],
  [
    2016,
    'SMS-Node',
    'Enumerated',
    'may',
    { 0: 'SMS_ROUTER', 1: 'IP_SM_GW', 2: 'SMS_ROUTER_AND_IP_SM_GW', 3: 'SMS_SC' },
  ],
  [2017, 'SMSC-Address', 'Address', 'may'],
  [2026, 'Recipient-Info', 'Grouped', 'may'],
  [2027, 'Originator-Received-Address', 'Grouped', 'may'],
];

/** A set of AVP definitions with lookups by code and by name. */
export interface DiameterDictionary {
  /** The definition of (code, vendorId), or undefined for an AVP we do not know. */
  byCode(code: number, vendorId: number): AvpDefinition | undefined;
  /** The definition named `name`, or undefined. */
  byName(name: string): AvpDefinition | undefined;
  /** Like byName, but a missing name is a bug in our code, so it throws. */
  require(name: string): AvpDefinition;
  /** Every definition, IETF ones first. */
  readonly definitions: readonly AvpDefinition[];
}

/**
 * Builds a dictionary from the built-in tables plus `extra` definitions. An extra definition with
 * the same (code, vendor) or name as a built-in one replaces it, so a deployment can correct a
 * type or an M-bit rule for a peer that differs from the specification.
 */
export function createDictionary(extra: readonly AvpDefinition[] = []): DiameterDictionary {
  const all: AvpDefinition[] = [
    ...IETF_AVPS.map((row) => fromRow(row, 0)),
    ...TGPP_AVPS.map((row) => fromRow(row, VENDOR_3GPP)),
  ];
  // IETF AVPs are looked up on every decode, so they get a flat map keyed by code alone; vendor
  // AVPs take one more lookup. A single numeric key (vendor * 2^32 + code) would exceed 2^53.
  const ietf = new Map<number, AvpDefinition>();
  const vendors = new Map<number, Map<number, AvpDefinition>>();
  const names = new Map<string, AvpDefinition>();
  const add = (definition: AvpDefinition): void => {
    if (definition.vendorId === 0) ietf.set(definition.code, definition);
    else {
      let table = vendors.get(definition.vendorId);
      if (table === undefined) vendors.set(definition.vendorId, (table = new Map()));
      table.set(definition.code, definition);
    }
    names.set(definition.name, definition);
  };
  for (const definition of all) add(definition);
  for (const definition of extra) {
    checkDefinition(definition);
    add(definition);
  }
  const definitions = [
    ...new Set([...ietf.values(), ...[...vendors.values()].flatMap((t) => [...t.values()])]),
  ];
  return {
    definitions,
    byCode: (code, vendorId) => (vendorId === 0 ? ietf.get(code) : vendors.get(vendorId)?.get(code)),
    byName: (name) => names.get(name),
    require(name) {
      const definition = names.get(name);
      if (definition === undefined) throw new RangeError(`no AVP named ${name} in the Diameter dictionary`);
      return definition;
    },
  };
}

function fromRow(row: Row, vendorId: number): AvpDefinition {
  const [code, name, type, mandatory, values] = row;
  return values === undefined
    ? { code, vendorId, name, type, mandatory }
    : { code, vendorId, name, type, mandatory, values };
}

function checkDefinition(definition: AvpDefinition): void {
  const { code, vendorId } = definition;
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
    throw new RangeError(`AVP ${definition.name}: code ${code} is not an unsigned 32-bit integer`);
  }
  if (!Number.isInteger(vendorId) || vendorId < 0 || vendorId > 0xffffffff) {
    throw new RangeError(`AVP ${definition.name}: vendor id ${vendorId} is not an unsigned 32-bit integer`);
  }
}

/** The dictionary of the tables above, shared by the codec, the server and the client. */
export const defaultDictionary: DiameterDictionary = createDictionary();

/** The name of an Enumerated value, or undefined when the definition does not list it. */
export function enumeratedName(definition: AvpDefinition, value: number): string | undefined {
  return definition.values?.[value];
}

/** The value of an Enumerated name; throws when the definition does not list it (a bug of ours). */
export function enumeratedValue(definition: AvpDefinition, name: string): number {
  for (const [value, candidate] of Object.entries(definition.values ?? {})) {
    if (candidate === name) return Number(value);
  }
  throw new RangeError(`AVP ${definition.name} has no value named ${name}`);
}
