/**
 * ChargingDataRequests shaped as 5G network functions send them, for tests, manual trials and the
 * load generator: a PDU session (data) from an SMF through its create, update and release, a voice
 * call from an IMS node charged by time, and an SMS charged as a one-time event by an SMSF.
 *
 * The figures are chosen to be checkable: the data update reports 1 200 000 + 3 800 000 =
 * 5 000 000 bytes used of a 5 MB grant in one container; the voice update reports 120 s of talk;
 * the SMS asks for 1 unit, one message.
 */
import type { ChargingDataRequest } from './model.js';

export const SMF_INSTANCE_ID = '5b0ae9b6-3c1e-4f55-9d3a-8f0a7c6e2d41';
export const UPF_INSTANCE_ID = 'c2f1d7a0-6b4e-4a8e-b1f3-0e9d5a7c3b12';
export const SMSF_INSTANCE_ID = '0f6e2c5d-8a1b-4c3d-9e7f-1a2b3c4d5e6f';
export const IMS_INSTANCE_ID = '7d3c9b1e-2f4a-4b6c-8d0e-5f1a3b7c9d2e';

const smf = {
  nodeFunctionality: 'SMF',
  nFName: SMF_INSTANCE_ID,
  nFIPv4Address: '10.100.200.10',
  nFPLMNID: { mcc: '262', mnc: '01' },
} as const;

const pduSession = {
  chargingId: 80_011_234,
  userInformation: {
    servedGPSI: 'msisdn-491701234567',
    servedPEI: 'imei-356938035643809',
    unauthenticatedFlag: false,
  },
  userLocationinfo: {
    nrLocation: {
      tai: { plmnId: { mcc: '262', mnc: '01' }, tac: '00a1b2' },
      ncgi: { plmnId: { mcc: '262', mnc: '01' }, nrCellId: '0000a1b2c' },
    },
  },
  uetimeZone: '+01:00',
  pduSessionInformation: {
    networkSlicingInfo: { sNSSAI: { sst: 1, sd: '000001' } },
    pduSessionID: 5,
    pduType: 'IPV4',
    sscMode: 'SSC_MODE_1',
    hPlmnId: { mcc: '262', mnc: '01' },
    servingNetworkFunctionID: {
      servingNetworkFunctionInformation: { nodeFunctionality: 'AMF', nFName: SMF_INSTANCE_ID },
    },
    ratType: 'NR',
    dnnId: 'internet',
    chargingCharacteristics: '0800',
    chargingCharacteristicsSelectionMode: 'HOME_DEFAULT',
    startTime: '2026-03-01T10:15:30Z',
  },
} as const;

/** An SMF opening a PDU session: asks for data quota on rating group 10 (internet). */
export function dataCreateRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: smf,
    invocationTimeStamp: '2026-03-01T10:15:30.120Z',
    invocationSequenceNumber: 0,
    notifyUri: 'http://10.100.200.10:8080/nchf-convergedcharging-notify/v3/session-5',
    multipleUnitUsage: [{ ratingGroup: 10, requestedUnit: {}, uPFID: UPF_INSTANCE_ID }],
    triggers: [
      { triggerType: 'VOLUME_LIMIT', triggerCategory: 'DEFERRED_REPORT', volumeLimit: 100_000_000 },
      { triggerType: 'RAT_CHANGE', triggerCategory: 'IMMEDIATE_REPORT' },
    ],
    pDUSessionChargingInformation: pduSession,
  };
}

/** The SMF reporting 5 000 000 bytes (1 200 000 up, 3 800 000 down) used and asking for more. */
export function dataUpdateRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: smf,
    invocationTimeStamp: '2026-03-01T10:21:02.480Z',
    invocationSequenceNumber: 1,
    multipleUnitUsage: [
      {
        ratingGroup: 10,
        requestedUnit: {},
        usedUnitContainer: [
          {
            quotaManagementIndicator: 'ONLINE_CHARGING',
            triggers: [{ triggerType: 'QUOTA_THRESHOLD', triggerCategory: 'IMMEDIATE_REPORT' }],
            triggerTimestamp: '2026-03-01T10:21:02.450Z',
            time: 332,
            totalVolume: 5_000_000,
            uplinkVolume: 1_200_000,
            downlinkVolume: 3_800_000,
            localSequenceNumber: 1,
            pDUContainerInformation: {
              timeofFirstUsage: '2026-03-01T10:15:31Z',
              timeofLastUsage: '2026-03-01T10:21:02Z',
              rATType: 'NR',
              qoSInformation: { qosId: 'qos-9', '5qi': 9, maxbrUl: '100 Mbps', maxbrDl: '300 Mbps' },
            },
          },
        ],
        uPFID: UPF_INSTANCE_ID,
      },
    ],
    pDUSessionChargingInformation: pduSession,
  };
}

/** The SMF closing the session: the final 750 000 bytes, with the FINAL trigger. */
export function dataReleaseRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: smf,
    invocationTimeStamp: '2026-03-01T10:40:00.001Z',
    invocationSequenceNumber: 2,
    multipleUnitUsage: [
      {
        ratingGroup: 10,
        usedUnitContainer: [
          {
            quotaManagementIndicator: 'ONLINE_CHARGING',
            triggers: [{ triggerType: 'FINAL', triggerCategory: 'IMMEDIATE_REPORT' }],
            triggerTimestamp: '2026-03-01T10:40:00Z',
            time: 1138,
            totalVolume: 750_000,
            uplinkVolume: 150_000,
            downlinkVolume: 600_000,
            localSequenceNumber: 2,
          },
        ],
      },
    ],
    triggers: [{ triggerType: 'FINAL', triggerCategory: 'IMMEDIATE_REPORT' }],
    pDUSessionChargingInformation: {
      ...pduSession,
      pduSessionInformation: {
        ...pduSession.pduSessionInformation,
        stopTime: '2026-03-01T10:40:00Z',
        sessionStopIndicator: true,
      },
    },
  };
}

/** An IMS node starting a voice call: asks for 300 seconds on rating group 100 (voice). */
export function voiceCreateRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: { nodeFunctionality: 'IMS_Node', nFName: IMS_INSTANCE_ID },
    invocationTimeStamp: '2026-03-01T18:02:11.300Z',
    invocationSequenceNumber: 0,
    notifyUri: 'http://ims-as.example.net/charging/notify/call-77',
    serviceSpecificationInfo: '32.260 V17',
    multipleUnitUsage: [{ ratingGroup: 100, requestedUnit: { time: 300 } }],
    iMSChargingInformation: {
      roleOfNode: 'ORIGINATING',
      nodeFunctionality: 'AS',
      callingPartyAddresses: ['tel:+491701234567'],
      calledPartyAddress: 'tel:+4930123456',
      imsChargingIdentifier: 'icid-8c2e91a0',
    },
  };
}

/** The IMS node reporting 120 seconds of talk and asking for 300 more. */
export function voiceUpdateRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: { nodeFunctionality: 'IMS_Node', nFName: IMS_INSTANCE_ID },
    invocationTimeStamp: '2026-03-01T18:04:11.300Z',
    invocationSequenceNumber: 1,
    multipleUnitUsage: [
      {
        ratingGroup: 100,
        requestedUnit: { time: 300 },
        usedUnitContainer: [
          { quotaManagementIndicator: 'ONLINE_CHARGING', time: 120, localSequenceNumber: 1 },
        ],
      },
    ],
    iMSChargingInformation: {
      roleOfNode: 'ORIGINATING',
      calledPartyAddress: 'tel:+4930123456',
    },
  };
}

/** An SMSF charging one SMS as an immediate event (reserve and debit in one request). */
export function smsEventRequest(): ChargingDataRequest {
  return {
    subscriberIdentifier: 'imsi-262011234567890',
    nfConsumerIdentification: {
      nodeFunctionality: 'SMSF',
      nFName: SMSF_INSTANCE_ID,
      nFIPv6Address: '2001:db8:85a3::8a2e:370:7334',
    },
    invocationTimeStamp: '2026-03-01T12:00:05Z',
    invocationSequenceNumber: 0,
    oneTimeEvent: true,
    oneTimeEventType: 'IEC',
    multipleUnitUsage: [{ ratingGroup: 200, requestedUnit: { serviceSpecificUnits: 1 } }],
    sMSChargingInformation: {
      originatorInfo: { originatorSUPI: 'imsi-262011234567890', originatorGPSI: 'msisdn-491701234567' },
      recipientInfo: [{ recipientOtherAddress: { sMaddressType: 'MSISDN', sMaddressData: '491609876543' } }],
      userEquipmentInfo: 'imei-356938035643809',
      rATType: 'NR',
      sMSCAddress: '491700000001',
      sMDataCodingScheme: 0,
      sMMessageType: 'SUBMISSION',
      numberofMessagesSent: 1,
      messageSize: 140,
      submissionTime: '2026-03-01T12:00:04Z',
    },
  };
}
