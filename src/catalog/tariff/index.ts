/**
 * The tariff core: tariff definitions (model), their validation, compilation into the in-memory
 * form the rating engine uses, pure charging of voice calls, data sessions and events, and the
 * streaming rate-deck (CSV) reader. No I/O and no database: everything here is a function of its
 * arguments.
 *
 * Typical use: validateTariff(definition) to show an author every problem; compileTariff(definition)
 * once per tariff version; then chargeCall / chargeData / chargeEvent per usage record. Hot paths
 * (batch rating) use chargeCallInto with a reused CallChargeScratch instead of chargeCall: the same
 * charge, allocation-free, in exact safe-integer numbers when they suffice.
 */
export {
  STANDARD_BAND,
  WEEKDAYS,
  type BandPrice,
  type BandWindow,
  type DataRate,
  type EventPrice,
  type FlatPricing,
  type HolidayCalendar,
  type Increments,
  type PrefixEntry,
  type PrefixTable,
  type Pricing,
  type RoamingNetwork,
  type RoamingZones,
  type TariffDefinition,
  type TariffProblem,
  type Tier,
  type TieredPricing,
  type TimeBand,
  type TimeBands,
  type VoiceTariff,
  type Weekday,
  type ZoneDefinition,
  type ZoneRate,
} from './model.js';
export { TariffErrors } from './errors.js';
export { OffsetCache } from './calendar.js';
export { validateTariff } from './validate.js';
export {
  buildPrefixTrie,
  longestPrefix,
  longestPrefixBatch,
  matchCalledNumber,
  MAX_PREFIX_DIGITS,
  type PrefixMatch,
  type PrefixTrie,
  type PrefixConflict,
} from './prefix-trie.js';
export {
  compileTariff,
  type CompiledTariff,
  type CompiledBands,
  type CompiledVoice,
  type CompiledPricing,
  type CompiledDataRate,
  type CompiledEventPrice,
  type VoiceNumbers,
} from './compile.js';
export {
  chargeCall,
  chargeCallInto,
  chargeCallIntoBigInt,
  chargeRoutedCallInto,
  chargeBatchedCallInto,
  routeCallBatch,
  newRoutedCallBatch,
  type RoutedCallBatch,
  newCallChargeScratch,
  callAmountPico,
  tariffCurrencyIndex,
  type CallChargeScratch,
  chargeData,
  chargeEvent,
  chargedSeconds,
  bandNameAt,
  priceUnits,
  type BandPart,
  type CallCharge,
  type CallUsage,
  type ChargeOptions,
  type DataCharge,
  type DataUsage,
  type EventCharge,
  type EventUsage,
  type TierPart,
} from './charge.js';
export {
  parseRateDeck,
  readRateDeck,
  requireRateDeckFragment,
  RateDeckReader,
  type RateDeckFragment,
  type RateDeckOptions,
  type RateDeckResult,
  type RateDeckRowError,
} from './rate-deck.js';
