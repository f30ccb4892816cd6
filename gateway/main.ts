/** Gateway entry point (see services/lib/service-main.ts for exit codes and signals). */
import { gatewayConfigSchema } from '../services/lib/config';
import { runService } from '../services/lib/service-main';
import { startGateway } from './server';

void runService('gateway', gatewayConfigSchema, startGateway);
