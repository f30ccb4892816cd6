/** Seeded randomness for tests: the same mulberry32 the market maker uses. */
export { seededRandom as prng, type Random } from '../../services/bots/seeded-random';
