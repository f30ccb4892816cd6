/**
 * The standard gRPC health service (`grpc.health.v1.Health`) for one of our services, over the
 * grpc-health-check package. Owns the statuses a service reports (the whole server, key '', and
 * the service by name, always together) and the health service's schema, which reflection needs
 * to describe it: grpc-health-check ships a .proto file, not a descriptor.
 */
import type * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { HealthImplementation } from 'grpc-health-check';

/** Fully-qualified name of the health service, for reflection's service list. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/**
 * The health of one service. Both keys start NOT_SERVING: a load balancer or orchestrator must
 * not send traffic before {@link ServiceHealth.setServing} says the service is ready (recovery
 * done), and sees NOT_SERVING again once shutdown begins.
 */
export class ServiceHealth {
  private readonly implementation: HealthImplementation;

  /** @param serviceName fully-qualified, e.g. `exchange.v1.EngineService`. */
  constructor(readonly serviceName: string) {
    this.implementation = new HealthImplementation({
      '': 'NOT_SERVING',
      [serviceName]: 'NOT_SERVING',
    });
  }

  /** Registers Check, Watch and List on `server`; call before the server binds. */
  addTo(server: grpc.Server): void {
    this.implementation.addToServer(server);
  }

  /** Sets the server ('') and the service to SERVING or NOT_SERVING; watchers are told. */
  setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.implementation.setStatus('', status);
    this.implementation.setStatus(this.serviceName, status);
  }
}

const { STRING, ENUM, MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

/**
 * grpc/health/v1/health.proto as the installed grpc-health-check serves it (Check, Watch,
 * List), for `addReflection`'s `extraFiles`.
 */
export const healthFileDescriptor: FileDescriptorProto = create(FileDescriptorProtoSchema, {
  name: 'grpc/health/v1/health.proto',
  package: 'grpc.health.v1',
  syntax: 'proto3',
  messageType: [
    { name: 'HealthListRequest' },
    {
      name: 'HealthListResponse',
      field: [
        {
          name: 'statuses',
          number: 1,
          label: REPEATED,
          type: MESSAGE,
          typeName: '.grpc.health.v1.HealthListResponse.StatusesEntry',
          jsonName: 'statuses',
        },
      ],
      nestedType: [
        {
          name: 'StatusesEntry',
          field: [
            { name: 'key', number: 1, label: OPTIONAL, type: STRING, jsonName: 'key' },
            {
              name: 'value',
              number: 2,
              label: OPTIONAL,
              type: MESSAGE,
              typeName: '.grpc.health.v1.HealthCheckResponse',
              jsonName: 'value',
            },
          ],
          options: { mapEntry: true },
        },
      ],
    },
    {
      name: 'HealthCheckRequest',
      field: [{ name: 'service', number: 1, label: OPTIONAL, type: STRING, jsonName: 'service' }],
    },
    {
      name: 'HealthCheckResponse',
      field: [
        {
          name: 'status',
          number: 1,
          label: OPTIONAL,
          type: ENUM,
          typeName: '.grpc.health.v1.HealthCheckResponse.ServingStatus',
          jsonName: 'status',
        },
      ],
      enumType: [
        {
          name: 'ServingStatus',
          value: [
            { name: 'UNKNOWN', number: 0 },
            { name: 'SERVING', number: 1 },
            { name: 'NOT_SERVING', number: 2 },
            { name: 'SERVICE_UNKNOWN', number: 3 },
          ],
        },
      ],
    },
  ],
  service: [
    {
      name: 'Health',
      method: [
        {
          name: 'Check',
          inputType: '.grpc.health.v1.HealthCheckRequest',
          outputType: '.grpc.health.v1.HealthCheckResponse',
        },
        {
          name: 'Watch',
          inputType: '.grpc.health.v1.HealthCheckRequest',
          outputType: '.grpc.health.v1.HealthCheckResponse',
          serverStreaming: true,
        },
        {
          name: 'List',
          inputType: '.grpc.health.v1.HealthListRequest',
          outputType: '.grpc.health.v1.HealthListResponse',
        },
      ],
    },
  ],
});
