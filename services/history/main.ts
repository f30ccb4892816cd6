/**
 * History service entry point (see services/lib/service-main.ts for exit codes and signals).
 * The persister retries a failed batch from its pending entries, so it has no fatal exit of its
 * own. History first lowers its own CPU priority (HISTORY_NICE): it follows the engine and may
 * lag during a burst, while the engine and the gateway answer orders.
 */
import { historyConfigSchema } from '../lib/config';
import { lowerPriority } from '../lib/priority';
import { runService } from '../lib/service-main';
import { startHistory } from './history-server';

void runService('history', historyConfigSchema, (config, log) => {
  if (config.HISTORY_NICE > 0) {
    const result = lowerPriority(config.HISTORY_NICE);
    if (result.error === undefined) log.info(result, 'CPU priority lowered');
    else log.warn(result, 'CPU priority not lowered for every thread');
  }
  return startHistory(config, log);
});
