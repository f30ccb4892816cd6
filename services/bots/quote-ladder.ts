/**
 * The market maker's quoting arithmetic, pure so it can be tested alone: how the reference price
 * drifts, and which bids and asks (in whole ticks and lots) surround it. Random numbers choose how
 * far to move and how much to show; every result is a whole number of ticks or lots.
 */
import { Side } from '../../gen/exchange/v1/common';
import { type MarketRules, minLotsAt, notionalOf } from './market-rules';
import { randomInt, type Random } from './seeded-random';

/** Half the distance between the best bid and the best ask, in basis points of the reference. */
const HALF_SPREAD_BPS = 5;
/** Never closer to the reference than this many ticks, however coarse the price. */
const MIN_HALF_SPREAD_TICKS = 2;
/** Distance between two levels of a side, in basis points of the reference (at least a tick). */
const LEVEL_STEP_BPS = 3;
/** A level shows about this many times the smallest order the market allows, times its depth. */
const LEVEL_SIZE_MULTIPLE = 100;
/** The largest move of the reference per refresh, in basis points. */
const DRIFT_BPS = 8;
/** Each refresh pulls the reference back by this fraction of its distance from the anchor. */
const REVERSION_DIVISOR = 50;
/** The reference stays within this fraction of its anchor, either way. */
const MAX_EXCURSION = 0.2;

/** Where the quotes of a market sit relative to its reference price, and how big they are. */
export interface LadderShape {
  readonly halfSpreadTicks: number;
  readonly stepTicks: number;
  /** Lots of a typical first level (deeper levels show more). */
  readonly unitLots: number;
}

/** One order of the ladder. */
export interface Quote {
  readonly side: Side.SIDE_BUY | Side.SIDE_SELL;
  readonly ticks: number;
  readonly lots: number;
}

function bps(ticks: number, points: number): number {
  return Math.floor((ticks * points + 5_000) / 10_000);
}

export function ladderShape(rules: MarketRules, refTicks: number): LadderShape {
  const smallest = minLotsAt(rules, refTicks);
  const smallestValue = notionalOf(rules, refTicks, smallest);
  const unitLots = Math.max(
    smallest,
    smallestValue
      .mul(LEVEL_SIZE_MULTIPLE)
      .div(notionalOf(rules, refTicks, 1))
      .ceil()
      .toNumber(),
  );
  return {
    halfSpreadTicks: Math.max(MIN_HALF_SPREAD_TICKS, bps(refTicks, HALF_SPREAD_BPS)),
    stepTicks: Math.max(1, bps(refTicks, LEVEL_STEP_BPS)),
    unitLots,
  };
}

/**
 * `levels` bids below and `levels` asks above the reference, best first on each side (bids, then
 * asks). Bids that would fall to zero ticks are left out. Every order meets the market's minimum
 * quantity and notional at its own price; sizes grow with depth and vary by up to ±50%.
 */
export function quoteLadder(
  rules: MarketRules,
  refTicks: number,
  levels: number,
  random: Random,
): Quote[] {
  const shape = ladderShape(rules, refTicks);
  const bids: Quote[] = [];
  const asks: Quote[] = [];
  const size = (ticks: number, level: number) =>
    Math.max(minLotsAt(rules, ticks), Math.round(shape.unitLots * (1 + level) * (0.5 + random())));
  for (let level = 0; level < levels; level++) {
    const offset = shape.halfSpreadTicks + level * shape.stepTicks;
    const bidTicks = refTicks - offset;
    if (bidTicks >= 1)
      bids.push({ side: Side.SIDE_BUY, ticks: bidTicks, lots: size(bidTicks, level) });
    const askTicks = refTicks + offset;
    asks.push({ side: Side.SIDE_SELL, ticks: askTicks, lots: size(askTicks, level) });
  }
  return [...bids, ...asks];
}

/**
 * The next reference price: a random step of at most {@link DRIFT_BPS} (at least one tick), a
 * pull back towards the anchor so the walk does not wander off, and a hard bound of
 * ±{@link MAX_EXCURSION} around the anchor so the demo's prices stay recognisable.
 */
export function driftTicks(ticks: number, anchorTicks: number, random: Random): number {
  const maxStep = Math.max(1, bps(ticks, DRIFT_BPS));
  const noise = randomInt(random, -maxStep, maxStep);
  const pull = Math.trunc((anchorTicks - ticks) / REVERSION_DIVISOR);
  const low = Math.max(1, Math.ceil(anchorTicks * (1 - MAX_EXCURSION)));
  const high = Math.max(low, Math.floor(anchorTicks * (1 + MAX_EXCURSION)));
  return Math.min(high, Math.max(low, ticks + noise + pull));
}
