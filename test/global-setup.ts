/**
 * Vitest global setup: build packages/cli/dist once before any test file runs, so the end-to-end
 * tests start the same JavaScript `npm start` runs, never a bundle older than the sources.
 */
import { buildAll } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await buildAll({ quiet: true });
}
