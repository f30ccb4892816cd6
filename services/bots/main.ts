/**
 * Market maker entry point (see services/lib/service-main.ts for exit codes and signals). It
 * needs only the Engine service; it waits for it, retrying, rather than failing at start, so it
 * can be started together with the engine.
 */
import { marketMakerConfigSchema } from '../lib/config';
import { engineClient } from '../lib/grpc/clients';
import { runService } from '../lib/service-main';
import { MarketMaker } from './market-maker';

/** A refresh should not wait on a call longer than this (the engine answers in milliseconds). */
const CALL_DEADLINE_MS = 5_000;

void runService('market-maker', marketMakerConfigSchema, async (config, log) => {
  const engine = engineClient(config.ENGINE_ADDR, CALL_DEADLINE_MS);
  const maker = new MarketMaker({
    engine,
    log,
    refreshMs: config.MM_REFRESH_MS,
    levels: config.MM_LEVELS,
  });
  maker.start();
  return {
    async stop() {
      try {
        await maker.stop();
        log.info(maker.stats(), 'market maker totals');
      } finally {
        engine.close();
      }
    },
  };
});
