/**
 * The data model of the Nchf_ConvergedCharging API, version 3 (3GPP TS 32.291 Release 17), as far
 * as Tollgate uses it for data (PDU session), voice (IMS) and SMS charging, with the common types
 * of TS 29.571 it refers to.
 *
 * Field names are the specification's, letter for letter, odd capitals included
 * (`pDUSessionChargingInformation`, `uPFID`, `userLocationinfo`): they are the wire format, and a
 * consumer (SMF, SMSF, IMS node) sends exactly these. Only the information elements Tollgate reads
 * or writes are typed; a request may carry others (Release 17 has many more charging information
 * blocks), which the face lets through untyped rather than refusing, because TS 29.501 clause 5.2.6
 * makes unknown attributes something a receiver ignores, not an error.
 *
 * Numbers. Volumes are Uint64 in TS 29.571 but arrive as JSON numbers, which JavaScript holds
 * exactly only up to 2^53 − 1 (9 007 199 254 740 991 bytes, about 8 PiB). The schema refuses larger
 * values (see schema.ts), so every number in these types is an exact integer.
 *
 * Enumerations are extensible in the specification (any string is allowed besides the listed
 * values). The types below name the listed values and keep `string` open where the schema lets
 * other values through; the few the charging core must understand exactly (quota management
 * indicator, one-time event type, notification type) are closed.
 */

/** TS 29.571 DateTime: an RFC 3339 date-time with a time zone, e.g. `2026-03-01T10:15:30.250Z`. */
export type DateTime = string;

/**
 * The subscriber: a SUPI (`imsi-<5..15 digits>`, `nai-...`, `gci-...`, `gli-...`) or a GPSI
 * (`msisdn-<5..15 digits>`, `extid-<id>@<domain>`), TS 29.571 Supi and Gpsi.
 */
export type SubscriberIdentifier = string;

/** TS 29.571 Uint32: 0 ..= 4 294 967 295. */
export type Uint32 = number;

/** TS 29.571 Uint64, restricted here to 0 ..= 2^53 − 1 (see the note on numbers above). */
export type Uint64 = number;

/** TS 29.571 DurationSec: whole seconds. */
export type DurationSec = number;

/** TS 29.571 PlmnId: mobile country code and mobile network code, as decimal digits. */
export interface PlmnId {
  readonly mcc: string;
  readonly mnc: string;
}

/** TS 29.571 Snssai: slice/service type (0..255) and an optional 6-hex-digit slice differentiator. */
export interface Snssai {
  readonly sst: number;
  readonly sd?: string;
}

/** TS 32.291 NodeFunctionality, the kind of network function that is charging. */
export type NodeFunctionality =
  | 'AMF'
  | 'SMF'
  | 'SMS'
  | 'SMSF'
  | 'PGW_C_SMF'
  | 'NEFF'
  | 'SGW'
  | 'I_SMF'
  | 'ePDG'
  | 'CEF'
  | 'NEF'
  | 'MnS_Producer'
  | 'SGSN'
  | 'V_SMF'
  | '5G_DDNMF'
  | 'IMS_Node'
  | 'EES'
  | 'PCF'
  | 'UDM'
  | 'UPF'
  | (string & {});

/** TS 32.291 NFIdentification: who is asking (the charging trigger function). */
export interface NfIdentification {
  readonly nodeFunctionality: NodeFunctionality;
  /** The NF instance id (a UUID, TS 29.571 NfInstanceId). */
  readonly nFName?: string;
  readonly nFIPv4Address?: string;
  readonly nFIPv6Address?: string;
  readonly nFPLMNID?: PlmnId;
  readonly nFFqdn?: string;
}

/** IEC: immediate event charging (reserve and debit at once); PEC: post event charging. */
export type OneTimeEventType = 'IEC' | 'PEC';

/** How the units of a container were counted (TS 32.291 QuotaManagementIndicator). */
export type QuotaManagementIndicator = 'ONLINE_CHARGING' | 'OFFLINE_CHARGING' | 'QUOTA_MANAGEMENT_SUSPENDED';

/** TS 32.291 TriggerType: why the consumer reports now. */
export type TriggerType =
  | 'QUOTA_THRESHOLD'
  | 'QHT'
  | 'FINAL'
  | 'QUOTA_EXHAUSTED'
  | 'VALIDITY_TIME'
  | 'OTHER_QUOTA_TYPE'
  | 'FORCED_REAUTHORISATION'
  | 'UNIT_COUNT_INACTIVITY_TIMER'
  | 'ABNORMAL_RELEASE'
  | 'QOS_CHANGE'
  | 'VOLUME_LIMIT'
  | 'TIME_LIMIT'
  | 'PLMN_CHANGE'
  | 'USER_LOCATION_CHANGE'
  | 'RAT_CHANGE'
  | 'SESSION_AMBR_CHANGE'
  | 'UE_TIMEZONE_CHANGE'
  | 'TARIFF_TIME_CHANGE'
  | 'MAX_NUMBER_OF_CHANGES_IN_CHARGING_CONDITIONS'
  | 'MANAGEMENT_INTERVENTION'
  | 'SERVING_NODE_CHANGE'
  | 'REMOVAL_OF_UPF'
  | 'ADDITION_OF_UPF'
  | 'START_OF_SERVICE_DATA_FLOW'
  | 'HANDOVER_CANCEL'
  | 'HANDOVER_START'
  | 'HANDOVER_COMPLETE'
  | (string & {});

export type TriggerCategory = 'IMMEDIATE_REPORT' | 'DEFERRED_REPORT' | (string & {});

/** TS 32.291 Trigger: a condition on which the consumer reports usage. */
export interface Trigger {
  readonly triggerType: TriggerType;
  readonly triggerCategory: TriggerCategory;
  readonly timeLimit?: DurationSec;
  readonly volumeLimit?: Uint32;
  readonly volumeLimit64?: Uint64;
  readonly maxNumberOfccc?: Uint32;
}

/** The units a consumer asks to be granted (TS 32.291 RequestedUnit). An empty object means "some". */
export interface RequestedUnit {
  /** Seconds. */
  readonly time?: Uint32;
  /** Bytes, both directions together. */
  readonly totalVolume?: Uint64;
  readonly uplinkVolume?: Uint64;
  readonly downlinkVolume?: Uint64;
  /** Events or messages (one SMS is one unit). */
  readonly serviceSpecificUnits?: Uint64;
}

/** TS 29.571 ServingNetworkFunctionID subset: the serving node (AMF, SGSN...) as an NF identification. */
export interface ServingNetworkFunctionId {
  readonly servingNetworkFunctionInformation: NfIdentification;
  readonly aMFId?: string;
}

/** TS 32.291 PDUContainerInformation, the subset that matters for rating a container. */
export interface PduContainerInformation {
  readonly timeofFirstUsage?: DateTime;
  readonly timeofLastUsage?: DateTime;
  /** QoS data of the flow (TS 29.512 QosData), kept as received. */
  readonly qoSInformation?: Readonly<Record<string, unknown>>;
  readonly afChargingIdentifier?: Uint32;
  /** TS 29.571 UserLocation (eutraLocation, nrLocation, n3gaLocation), kept as received. */
  readonly userLocationInformation?: Readonly<Record<string, unknown>>;
  readonly uetimeZone?: string;
  readonly rATType?: string;
  readonly servingNodeID?: readonly ServingNetworkFunctionId[];
  readonly sponsorIdentity?: string;
  readonly applicationserviceProviderIdentity?: string;
  readonly chargingRuleBaseName?: string;
}

/** TS 32.291 UsedUnitContainer: units used since the last report, for one rating group. */
export interface UsedUnitContainer {
  readonly serviceId?: Uint32;
  readonly quotaManagementIndicator?: QuotaManagementIndicator;
  readonly triggers?: readonly Trigger[];
  readonly triggerTimestamp?: DateTime;
  readonly time?: Uint32;
  readonly totalVolume?: Uint64;
  readonly uplinkVolume?: Uint64;
  readonly downlinkVolume?: Uint64;
  readonly serviceSpecificUnits?: Uint64;
  readonly eventTimeStamps?: readonly DateTime[];
  /** Orders the containers of one rating group; mandatory in the specification. */
  readonly localSequenceNumber: number;
  readonly pDUContainerInformation?: PduContainerInformation;
}

/** TS 32.291 MultipleUnitUsage: the request and the reports for one rating group. */
export interface MultipleUnitUsage {
  readonly ratingGroup: Uint32;
  readonly requestedUnit?: RequestedUnit;
  readonly usedUnitContainer?: readonly UsedUnitContainer[];
  /** The user plane function that counted the units (an NF instance id). */
  readonly uPFID?: string;
}

export type RoamerInOut = 'IN_BOUND' | 'OUT_BOUND';

/** TS 32.291 UserInformation. */
export interface UserInformation {
  readonly servedGPSI?: string;
  readonly servedPEI?: string;
  readonly unauthenticatedFlag?: boolean;
  readonly roamerInOut?: RoamerInOut | (string & {});
}

export interface NetworkSlicingInfo {
  readonly sNSSAI: Snssai;
}

/** TS 32.291 PDUSessionInformation, the subset Tollgate reads. */
export interface PduSessionInformation {
  readonly networkSlicingInfo?: NetworkSlicingInfo;
  readonly pduSessionID: number;
  /** TS 29.571 PduSessionType: IPV4, IPV6, IPV4V6, UNSTRUCTURED, ETHERNET. */
  readonly pduType?: string;
  readonly sscMode?: string;
  readonly hPlmnId?: PlmnId;
  readonly servingNetworkFunctionID?: ServingNetworkFunctionId;
  /** TS 29.571 RatType: NR, EUTRA, WLAN, NBIOT, ... */
  readonly ratType?: string;
  readonly dnnId: string;
  readonly dnnSelectionMode?: string;
  readonly chargingCharacteristics?: string;
  readonly chargingCharacteristicsSelectionMode?: string;
  readonly startTime?: DateTime;
  readonly stopTime?: DateTime;
  readonly sessionStopIndicator?: boolean;
  /** The serving core network's PLMN when roaming. */
  readonly servingCNPlmnId?: PlmnId;
}

/** TS 32.291 PDUSessionChargingInformation, the subset Tollgate reads. */
export interface PduSessionChargingInformation {
  readonly chargingId?: Uint32;
  readonly homeProvidedChargingId?: Uint32;
  readonly userInformation?: UserInformation;
  /** TS 29.571 UserLocation, kept as received. */
  readonly userLocationinfo?: Readonly<Record<string, unknown>>;
  readonly userLocationTime?: DateTime;
  readonly uetimeZone?: string;
  readonly pduSessionInformation: PduSessionInformation;
  readonly unitCountInactivityTimer?: DurationSec;
}

/** TS 32.291 MultipleQFIcontainer: one report of a home-routed roaming session (QoS-flow-based charging). */
export interface MultipleQfiContainer {
  readonly triggers?: readonly Trigger[];
  readonly triggerTimestamp?: DateTime;
  readonly time?: Uint32;
  readonly totalVolume?: Uint64;
  readonly uplinkVolume?: Uint64;
  readonly downlinkVolume?: Uint64;
  readonly localSequenceNumber: number;
  /** TS 32.291 QFIContainerInformation, kept as received. */
  readonly qFIContainerInformation?: Readonly<Record<string, unknown>>;
}

/** TS 32.291 RoamingQBCInformation, the subset Tollgate reads. */
export interface RoamingQbcInformation {
  readonly multipleQFIcontainer?: readonly MultipleQfiContainer[];
  readonly uPFID?: string;
  readonly roamingChargingProfile?: Readonly<Record<string, unknown>>;
}

/** TS 32.291 SMAddressInfo. */
export interface SmAddressInfo {
  readonly sMaddressType?: string;
  readonly sMaddressData?: string;
}

export interface SmsOriginatorInfo {
  readonly originatorSUPI?: string;
  readonly originatorGPSI?: string;
  readonly originatorOtherAddress?: SmAddressInfo;
}

export interface SmsRecipientInfo {
  readonly recipientSUPI?: string;
  readonly recipientGPSI?: string;
  readonly recipientOtherAddress?: SmAddressInfo;
}

/** TS 32.291 SMSChargingInformation, the subset Tollgate reads. */
export interface SmsChargingInformation {
  readonly originatorInfo?: SmsOriginatorInfo;
  readonly recipientInfo?: readonly SmsRecipientInfo[];
  readonly userEquipmentInfo?: string;
  readonly userLocationinfo?: Readonly<Record<string, unknown>>;
  readonly uetimeZone?: string;
  readonly rATType?: string;
  readonly sMSCAddress?: string;
  readonly sMDataCodingScheme?: number;
  /** SUBMISSION, DELIVERY_REPORT, SM_SERVICE_REQUEST. */
  readonly sMMessageType?: string;
  readonly numberofMessagesSent?: Uint32;
  readonly messageSize?: Uint32;
  readonly submissionTime?: DateTime;
}

/**
 * TS 32.291 IMSChargingInformation, the subset needed to rate a voice call: who calls whom and in
 * which role the reporting node is. Voice time itself travels in `multipleUnitUsage` (`time`).
 */
export interface ImsChargingInformation {
  /** ORIGINATING or TERMINATING (TS 32.291 RoleOfIMSNode). */
  readonly roleOfNode?: string;
  /** The reporting IMS node (S_CSCF, AS, ...: TS 32.291 IMSNodeFunctionality). */
  readonly nodeFunctionality?: string;
  readonly callingPartyAddresses?: readonly string[];
  readonly calledPartyAddress?: string;
  readonly imsChargingIdentifier?: string;
}

/** TS 32.291 ChargingDataRequest: the body of create, update and release. */
export interface ChargingDataRequest {
  readonly subscriberIdentifier?: SubscriberIdentifier;
  readonly nfConsumerIdentification: NfIdentification;
  readonly invocationTimeStamp: DateTime;
  readonly invocationSequenceNumber: Uint32;
  /**
   * The charging identifier correlating the charging information (TS 32.290 table 7.1), when the
   * consumer-specific structure carries none; a one-time event's reference is derived from it.
   */
  readonly chargingId?: Uint32;
  /**
   * Set on an event that is charged in one request (an SMS, content), without a session:
   * `oneTimeEventType` then says how (mandatory with it here).
   */
  readonly oneTimeEvent?: boolean;
  readonly oneTimeEventType?: OneTimeEventType;
  /** Where the CHF sends ChargingNotifyRequests (re-authorisation, abort) for this session. */
  readonly notifyUri?: string;
  readonly serviceSpecificationInfo?: string;
  readonly multipleUnitUsage?: readonly MultipleUnitUsage[];
  readonly triggers?: readonly Trigger[];
  readonly pDUSessionChargingInformation?: PduSessionChargingInformation;
  readonly roamingQBCInformation?: RoamingQbcInformation;
  readonly sMSChargingInformation?: SmsChargingInformation;
  readonly iMSChargingInformation?: ImsChargingInformation;
}

/** TS 32.291 ResultCode, per rating group in the response. */
export type ResultCode =
  | 'SUCCESS'
  | 'END_USER_SERVICE_DENIED'
  | 'QUOTA_MANAGEMENT_NOT_APPLICABLE'
  | 'QUOTA_LIMIT_REACHED'
  | 'END_USER_SERVICE_REJECTED'
  | 'USER_UNKNOWN'
  | 'RATING_FAILED';

/** TS 32.291 GrantedUnit. */
export interface GrantedUnit {
  readonly tariffTimeChange?: DateTime;
  readonly time?: Uint32;
  readonly totalVolume?: Uint64;
  readonly uplinkVolume?: Uint64;
  readonly downlinkVolume?: Uint64;
  readonly serviceSpecificUnits?: Uint64;
}

export type FinalUnitAction = 'TERMINATE' | 'REDIRECT' | 'RESTRICT_ACCESS';

export interface RedirectServer {
  /** IPV4, IPV6, URL, SIP_URI. */
  readonly redirectAddressType: string;
  readonly redirectServerAddress: string;
}

/** TS 32.291 FinalUnitIndication: what the consumer does once the last granted units are used. */
export interface FinalUnitIndication {
  readonly finalUnitAction: FinalUnitAction;
  readonly restrictionFilterRule?: string;
  readonly filterId?: string;
  readonly redirectServer?: RedirectServer;
}

/** TS 32.291 MultipleUnitInformation: the answer for one rating group. */
export interface MultipleUnitInformation {
  readonly resultCode?: ResultCode;
  readonly ratingGroup: Uint32;
  readonly grantedUnit?: GrantedUnit;
  readonly triggers?: readonly Trigger[];
  readonly validityTime?: DurationSec;
  readonly quotaHoldingTime?: DurationSec;
  readonly finalUnitIndication?: FinalUnitIndication;
  readonly timeQuotaThreshold?: Uint32;
  readonly volumeQuotaThreshold?: Uint64;
  readonly unitQuotaThreshold?: Uint32;
  readonly uPFID?: string;
}

/** TS 29.571 InvalidParam: one offending attribute, as a JSON pointer into the request body. */
export interface InvalidParam {
  readonly param: string;
  readonly reason?: string;
}

/**
 * TS 29.571 ProblemDetails (RFC 9457 with the 3GPP `cause` and `invalidParams`), sent as
 * application/problem+json with every error status.
 */
export interface ProblemDetails {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
  /** The application or protocol error, e.g. MANDATORY_IE_MISSING, QUOTA_LIMIT_REACHED. */
  readonly cause?: string;
  readonly invalidParams?: readonly InvalidParam[];
  readonly supportedFeatures?: string;
}

export type FailureHandling = 'TERMINATE' | 'CONTINUE' | 'RETRY_AND_TERMINATE';

export interface InvocationResult {
  readonly error?: ProblemDetails;
  readonly failureHandling?: FailureHandling;
}

export type SessionFailover = 'FAILOVER_NOT_SUPPORTED' | 'FAILOVER_SUPPORTED';

/** TS 32.291 ChargingDataResponse: the body of 201 (create) and 200 (update). */
export interface ChargingDataResponse {
  readonly invocationTimeStamp: DateTime;
  readonly invocationSequenceNumber: Uint32;
  readonly invocationResult?: InvocationResult;
  readonly sessionFailover?: SessionFailover;
  readonly multipleUnitInformation?: readonly MultipleUnitInformation[];
  readonly triggers?: readonly Trigger[];
}

export type NotificationType = 'REAUTHORIZATION' | 'ABORT_CHARGING';

/** TS 32.291 ReauthorizationDetails: which rating group the consumer should ask quota for again. */
export interface ReauthorizationDetails {
  readonly serviceId?: Uint32;
  readonly ratingGroup?: Uint32;
  readonly quotaManagementIndicator?: QuotaManagementIndicator;
}

/** TS 32.291 ChargingNotifyRequest: what the CHF POSTs to a session's notifyUri. */
export interface ChargingNotifyRequest {
  readonly notificationType: NotificationType;
  readonly reauthorizationDetails?: readonly ReauthorizationDetails[];
}

/** TS 32.291 ChargingNotifyResponse: what a consumer may answer with 200 instead of 204. */
export interface ChargingNotifyResponse {
  readonly invocationResult?: InvocationResult;
}

/** The API's name and version as they appear in every path (TS 29.501 clause 4.4.1). */
export const NCHF_API_NAME = 'nchf-convergedcharging';
export const NCHF_API_VERSION = 'v3';
/** `/nchf-convergedcharging/v3`: the path every resource of this API starts with. */
export const NCHF_BASE_PATH = `/${NCHF_API_NAME}/${NCHF_API_VERSION}`;
