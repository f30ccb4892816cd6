/**
 * History service entry point (see services/lib/service-main.ts for exit codes and signals).
 * The persister retries a failed batch from its pending entries, so it has no fatal exit of its own.
 */
import { historyConfigSchema } from '../lib/config';
import { runService } from '../lib/service-main';
import { startHistory } from './history-server';

void runService('history', historyConfigSchema, startHistory);
