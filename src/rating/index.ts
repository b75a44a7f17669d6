/**
 * Rating: the one pure rating core of batch rating and online charging. compileRatingPlan once
 * per subscription (plan + add-ons + tariffs + account), then rateUsage per event into a reused
 * RatingResult, applyRating to write its draws into the counters, explainRating for the trace.
 * See docs/rating.md.
 */
export * from './model.js';
export { compileRatingPlan, RatingPlanCache, USAGE_SERVICE_OF } from './compile.js';
export { rateUsage, applyRating } from './rate.js';
export {
  AllowanceLedger,
  rolloverLayers,
  type AllowanceCounterRecord,
  type RolloverLayer,
  type TierCounterRecord,
} from './ledger.js';
export {
  compactTrace,
  JsonTraceSink,
  type TraceSink,
  expandTrace,
  explainRating,
  formatFormula,
  isCompactTrace,
  picoText,
  type ChargeTrace,
  type TraceDraw,
} from './explain.js';
export {
  ratingDelta,
  reverseSnapshot,
  snapshotRating,
  type AllowanceDelta,
  type RatedDraw,
  type RatedSnapshot,
  type RatedTierUpdate,
  type RatingDelta,
} from './rerate.js';
export { PeriodCalendar, periodCalendar, instantOfLocal, zoneOffsetMs, type Period } from './periods.js';
