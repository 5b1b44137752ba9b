// Fuzz loops and races that fail reproduce with the same seed.
export { seededRandom } from '../../shared/seeded-random.js';
