/** Tests use the same promise-based clients as the gateway and the bots. */
export {
  engineClient,
  historyClient,
  type EngineApi,
  type HistoryApi,
} from '../../services/lib/grpc/clients';
