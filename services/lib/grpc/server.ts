/**
 * A gRPC server as every service runs one: its service plus reflection and health, bound,
 * SERVING once bound, and a graceful shutdown (NOT_SERVING, calls in flight finish, forced after
 * a grace period).
 */
import * as grpc from '@grpc/grpc-js';
import { HEALTH_SERVICE_NAME, ServiceHealth, healthFileDescriptor } from './health';
import { addReflection, loadDescriptorSet } from './reflection';

export interface GrpcServing {
  readonly port: number;
  readonly health: ServiceHealth;
  /** NOT_SERVING, stop taking calls, let those in flight finish (at most `graceMs`). */
  shutdown(graceMs?: number): Promise<void>;
}

export async function serveGrpc(options: {
  /** Fully-qualified, e.g. `exchange.v1.EngineService`. */
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  readonly host: string;
  readonly port: number;
  readonly serverOptions?: grpc.ServerOptions;
}): Promise<GrpcServing> {
  const server = new grpc.Server(options.serverOptions);
  server.addService(options.definition, options.implementation);
  const health = new ServiceHealth(options.name);
  health.addTo(server);
  addReflection(server, {
    descriptorSet: loadDescriptorSet(),
    services: [options.name, HEALTH_SERVICE_NAME],
    extraFiles: [healthFileDescriptor],
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  health.setServing(true);
  return {
    port,
    health,
    shutdown: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        health.setServing(false);
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
