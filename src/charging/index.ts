/**
 * Charging: the pure core of online charging's balances and two-phase reservations. Balances
 * (money and unit buckets) change only through movements; online sessions reserve, commit,
 * release and expire holds on them. No I/O: a store loads a ChargingState, calls these functions
 * synchronously, and persists the movements and rows the outcomes name. See docs/charging.md.
 */
export * from './model.js';
export {
  CHARGING_CODES,
  ChargingErrors,
  isRetryable,
  isSuccess,
  type ChargingCode,
  type ChargingCodeInfo,
  type ChargingFailureCode,
  type ChargingSuccessCode,
} from './errors.js';
export {
  addBalance,
  availableOf,
  availableWithoutCap,
  balanceAsMoney,
  compareConsumptionOrder,
  createChargingState,
  findBalance,
  isValidAt,
  matchesScope,
  openBalance,
  picoOfMoney,
  rollSpendingPeriod,
  type ChargingStateInput,
  type UsageScope,
} from './balances.js';
export {
  adjust,
  assertBalanceMatchesMovements,
  expireBalances,
  grantAllowance,
  postMovement,
  recompute,
  redeemVoucher,
  topUp,
  type CreditInput,
} from './movements.js';
export {
  assertChargingInvariants,
  commit,
  expireReservations,
  forgetSession,
  handleChargingRequest,
  latestReservation,
  grantsFromReservations,
  maxAffordableUnits,
  priceOf,
  release,
  releaseReservation,
  reserve,
  type SingleChargingRequest,
} from './reservations.js';
export {
  BalanceAdminErrors,
  PIN_DIGITS,
  VoucherErrors,
  bonusOf,
  isWellFormedPin,
  newPin,
  normalisePin,
  pinHash,
  type VoucherBonus,
  type VoucherStatus,
} from './vouchers.js';
export {
  amountView,
  thresholdCrossedPayload,
  type AmountView,
  type ThresholdCrossedPayload,
} from './views.js';
