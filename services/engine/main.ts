/**
 * Engine service entry point (see services/lib/service-main.ts for exit codes and signals). Exits
 * 1 if the matching loop dies: a supervisor restarts it and recovery replays the journal.
 */
import { engineConfigSchema } from '../lib/config';
import { runService } from '../lib/service-main';
import { startEngine } from './engine-server';

void runService('engine', engineConfigSchema, startEngine);
