/**
 * Server reflection and health, through real clients that have no .proto files: the `buf curl`
 * CLI run in an empty directory, and a raw reflection stream whose messages are encoded here by
 * hand. The engine is a stub that only answers GetMarkets; the schema is gen/descriptor.binpb.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { service as healthService } from 'grpc-health-check';
import type { Market } from '../../gen/exchange/v1/common';
import { EngineServiceService, type EngineServiceServer } from '../../gen/exchange/v1/engine';
import {
  addReflection,
  loadDescriptorSet,
  reflectionCodec,
  type ReflectionResponse,
} from '../../services/lib/grpc/reflection';
import {
  HEALTH_SERVICE_NAME,
  ServiceHealth,
  healthFileDescriptor,
} from '../../services/lib/grpc/health';

const ENGINE = 'exchange.v1.EngineService';
const BUF = path.resolve(__dirname, '../../node_modules/.bin/buf');

const market: Market = {
  symbol: 'SOL_USDC',
  baseAsset: { symbol: 'SOL', decimals: 9 },
  quoteAsset: { symbol: 'USDC', decimals: 6 },
  tickSize: '0.01',
  lotSize: '0.001',
  minQuantity: '0.001',
  minNotional: '1',
  makerFee: '0.001',
  takerFee: '0.002',
};

/** Only GetMarkets: grpc-js answers every method left out with UNIMPLEMENTED. */
const stubEngine: Pick<EngineServiceServer, 'getMarkets'> = {
  getMarkets: (_call, callback) => callback(null, { markets: [market] }),
};

interface CurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An empty directory: buf finds no buf.yaml and no .proto files from there. */
let emptyDir: string;

beforeAll(() => {
  emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reflection-test-'));
});

afterAll(() => {
  fs.rmSync(emptyDir, { recursive: true, force: true });
});

/** Runs `buf curl` with the gRPC protocol; the schema can only come from server reflection. */
function bufCurl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      BUF,
      ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
      { cwd: emptyDir, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error === null) resolve({ exitCode: 0, stdout, stderr });
        else if (typeof error.code === 'number') resolve({ exitCode: error.code, stdout, stderr });
        else reject(new Error(`buf curl did not finish: ${error.message}\n${stderr}`));
      },
    );
  });
}

/** Fields of one message as [number, value] pairs, decoded with no schema. */
function fieldsOf(bytes: Uint8Array): [number, Uint8Array | number][] {
  const reader = new BinaryReader(bytes);
  const fields: [number, Uint8Array | number][] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (wireType === WireType.LengthDelimited) fields.push([no, reader.bytes()]);
    else if (wireType === WireType.Varint) fields.push([no, reader.int32()]);
    else throw new Error(`unexpected wire type ${wireType} in field ${no}`);
  }
  return fields;
}

function field(bytes: Uint8Array, no: number): Uint8Array | number | undefined {
  return fieldsOf(bytes).find(([n]) => n === no)?.[1];
}

function bytesField(bytes: Uint8Array, no: number): Uint8Array {
  const value = field(bytes, no);
  if (!(value instanceof Uint8Array)) throw new Error(`field ${no} is not length-delimited`);
  return value;
}

/** One ServerReflectionRequest with a single string field of the message_request oneof. */
function request(no: 3 | 4 | 6 | 7, value: string): Uint8Array {
  return new BinaryWriter().tag(no, WireType.LengthDelimited).string(value).finish();
}

/** Names of the files in a file_descriptor_response, in the order served. */
function servedFiles(response: Uint8Array): string[] {
  return fieldsOf(bytesField(response, 4)).map(
    ([, file]) => fromBinary(FileDescriptorProtoSchema, file as Uint8Array).name,
  );
}

function errorOf(response: Uint8Array): { code: number | undefined; message: string } {
  const error = bytesField(response, 7);
  const message = field(error, 2);
  return {
    code: field(error, 1) as number | undefined,
    message: message instanceof Uint8Array ? Buffer.from(message).toString() : '',
  };
}

describe('server reflection', () => {
  let server: grpc.Server;
  let address: string;
  let health: ServiceHealth;

  beforeEach(async () => {
    server = new grpc.Server();
    server.addService(EngineServiceService, stubEngine);
    health = new ServiceHealth(ENGINE);
    health.addTo(server);
    addReflection(server, {
      descriptorSet: loadDescriptorSet(),
      services: [ENGINE, HEALTH_SERVICE_NAME],
      extraFiles: [healthFileDescriptor],
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
    health.setServing(true);
  });

  afterEach(() => {
    server.forceShutdown();
  });

  /** Sends raw ServerReflectionRequests on one stream and returns the raw responses. */
  async function reflect(requests: Uint8Array[], version = 'v1'): Promise<Buffer[]> {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      return await new Promise<Buffer[]>((resolve, reject) => {
        const call = client.makeBidiStreamRequest(
          `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
          (bytes: Uint8Array) => Buffer.from(bytes),
          (bytes: Buffer) => bytes,
        );
        const responses: Buffer[] = [];
        call.on('data', (response: Buffer) => responses.push(response));
        call.on('error', reject);
        call.on('end', () => resolve(responses));
        for (const r of requests) call.write(r);
        call.end();
      });
    } finally {
      client.close();
    }
  }

  describe('ListServices', () => {
    it('lists the engine, health and reflection services to buf curl', async () => {
      const result = await bufCurl(['--list-services', `http://${address}`]);
      expect(result).toMatchObject({ exitCode: 0 });
      expect(result.stdout.trim().split('\n').sort()).toEqual([
        ENGINE,
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
    });

    it('answers list_services on the v1alpha protocol too', async () => {
      const [response] = await reflect([request(7, '')], 'v1alpha');
      const names = fieldsOf(bytesField(response ?? Buffer.alloc(0), 6)).map(([, service]) =>
        Buffer.from(bytesField(service as Uint8Array, 1)).toString(),
      );
      expect(names).toContain(ENGINE);
    });
  });

  describe('describe', () => {
    it('lists every method of every listed service to buf curl', async () => {
      const result = await bufCurl(['--list-methods', `http://${address}`]);
      expect(result).toMatchObject({ exitCode: 0 });
      const methods = result.stdout.trim().split('\n');
      expect(methods).toEqual(
        expect.arrayContaining([
          `${ENGINE}/GetMarkets`,
          `${ENGINE}/OrderEntry`,
          'grpc.health.v1.Health/Check',
          'grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
        ]),
      );
      expect(methods.filter((m) => m.startsWith(`${ENGINE}/`))).toHaveLength(
        Object.keys(EngineServiceService).length,
      );
    });

    it('serves the file of a method with the file it imports, dependencies after', async () => {
      const [response] = await reflect([request(4, `${ENGINE}.GetMarkets`)]);
      expect(servedFiles(response ?? Buffer.alloc(0))).toEqual([
        'exchange/v1/engine.proto',
        'exchange/v1/common.proto',
      ]);
    });

    it('finds messages, enums, enum values, fields and nested types', async () => {
      const responses = await reflect([
        request(4, 'exchange.v1.Market'),
        request(4, 'exchange.v1.Side'),
        request(4, 'exchange.v1.Market.tick_size'),
        request(4, 'grpc.health.v1.HealthCheckResponse.ServingStatus'),
        request(4, 'grpc.health.v1.HealthCheckResponse.SERVING'),
        request(3, 'exchange/v1/history.proto'),
      ]);
      expect(responses.map((r) => servedFiles(r)[0])).toEqual([
        'exchange/v1/common.proto',
        'exchange/v1/common.proto',
        'exchange/v1/common.proto',
        'grpc/health/v1/health.proto',
        'grpc/health/v1/health.proto',
        'exchange/v1/history.proto',
      ]);
    });

    it('rejects an unknown symbol with a NOT_FOUND error_response and keeps the stream', async () => {
      const responses = await reflect([
        request(4, 'exchange.v1.NoSuchThing'),
        request(3, 'exchange/v1/nope.proto'),
        request(6, 'exchange.v1.NoSuchThing'),
        request(4, ENGINE),
      ]);
      expect(responses).toHaveLength(4);
      expect(responses.slice(0, 3).map((r) => errorOf(r).code)).toEqual([5, 5, 5]);
      expect(errorOf(responses[0] ?? Buffer.alloc(0)).message).toContain('exchange.v1.NoSuchThing');
      expect(servedFiles(responses[3] ?? Buffer.alloc(0))[0]).toBe('exchange/v1/engine.proto');
    });

    it('answers extension queries: NOT_FOUND for none, an empty list for a known type', async () => {
      const extensionRequest = new BinaryWriter()
        .tag(5, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string('exchange.v1.Market')
        .tag(2, WireType.Varint)
        .int32(1000)
        .join()
        .finish();
      const [missing, numbers] = await reflect([
        extensionRequest,
        request(6, 'exchange.v1.Market'),
      ]);
      expect(errorOf(missing ?? Buffer.alloc(0)).code).toBe(grpc.status.NOT_FOUND);
      const decoded = reflectionCodec.decodeResponse(numbers ?? Buffer.alloc(0));
      expect(decoded.messageResponse).toEqual({
        case: 'allExtensionNumbersResponse',
        value: { baseTypeName: 'exchange.v1.Market', extensionNumber: [] },
      });
    });

    it('fails buf curl on an unknown service', async () => {
      const result = await bufCurl([`http://${address}/exchange.v1.NoSuchService/Nothing`]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('exchange.v1.NoSuchService');
    });
  });

  describe('calls through reflection', () => {
    it.each(['grpc-v1', 'grpc-v1alpha'])(
      'calls GetMarkets and decodes types from the imported common.proto (%s)',
      async (protocol) => {
        const result = await bufCurl([
          '--reflect-protocol',
          protocol,
          '--data',
          '{}',
          `http://${address}/${ENGINE}/GetMarkets`,
        ]);
        expect(result).toMatchObject({ exitCode: 0 });
        expect(JSON.parse(result.stdout)).toEqual({ markets: [market] });
      },
    );

    it('passes on the status of an unimplemented method', async () => {
      const result = await bufCurl([`http://${address}/${ENGINE}/GetDepth`]);
      // buf curl exits with the gRPC code shifted left by three bits.
      expect(result.exitCode).toBe(grpc.status.UNIMPLEMENTED << 3);
    });
  });

  describe('health', () => {
    it('answers SERVING through buf curl and reflection', async () => {
      const result = await bufCurl([
        '--data',
        JSON.stringify({ service: ENGINE }),
        `http://${address}/grpc.health.v1.Health/Check`,
      ]);
      expect(result).toMatchObject({ exitCode: 0 });
      expect(JSON.parse(result.stdout)).toEqual({ status: 'SERVING' });
    });

    it('reports SERVING, then NOT_SERVING for the server and the service', async () => {
      const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
      const client = new HealthClient(address, grpc.credentials.createInsecure());
      const check = (service: string): Promise<unknown> =>
        new Promise((resolve, reject) =>
          client.check({ service }, (err: grpc.ServiceError | null, response: unknown) =>
            err ? reject(err) : resolve(response),
          ),
        );
      try {
        await expect(check('')).resolves.toEqual({ status: 'SERVING' });
        await expect(check(ENGINE)).resolves.toEqual({ status: 'SERVING' });
        health.setServing(false);
        await expect(check('')).resolves.toEqual({ status: 'NOT_SERVING' });
        await expect(check(ENGINE)).resolves.toEqual({ status: 'NOT_SERVING' });
        await expect(check('exchange.v1.Other')).rejects.toMatchObject({
          code: grpc.status.NOT_FOUND,
        });
      } finally {
        client.close();
      }
    });
  });
});

describe('addReflection', () => {
  it('rejects a listed service that the schema does not declare', () => {
    expect(() =>
      addReflection(new grpc.Server(), {
        descriptorSet: loadDescriptorSet(),
        services: [ENGINE, 'exchange.v1.MissingService'],
      }),
    ).toThrow(/exchange\.v1\.MissingService/);
  });

  it('rejects a descriptor set without the files its files import', () => {
    const set = fromBinary(FileDescriptorSetSchema, loadDescriptorSet());
    set.file = set.file.filter((f) => f.name !== 'exchange/v1/common.proto');
    expect(() =>
      addReflection(new grpc.Server(), {
        descriptorSet: toBinary(FileDescriptorSetSchema, set),
        services: [ENGINE],
      }),
    ).toThrow(/lacks exchange\/v1\/common\.proto, imported by exchange\/v1\/engine\.proto/);
  });

  it('says how to build a missing descriptor set', () => {
    expect(() => loadDescriptorSet(path.join(os.tmpdir(), 'no-such-descriptor.binpb'))).toThrow(
      /run npm run gen/,
    );
  });
});

describe('reflectionCodec', () => {
  it('round-trips every kind of response', () => {
    const originalRequest = {
      host: 'h',
      messageRequest: {
        case: 'fileContainingExtension' as const,
        value: { containingType: 'a.B', extensionNumber: 7 },
      },
    };
    const responses: ReflectionResponse[] = [
      {
        validHost: 'h',
        originalRequest,
        messageResponse: {
          case: 'fileDescriptorResponse',
          value: { fileDescriptorProto: [new Uint8Array([1, 2]), new Uint8Array([3])] },
        },
      },
      {
        validHost: '',
        messageResponse: {
          case: 'allExtensionNumbersResponse',
          value: { baseTypeName: 'a.B', extensionNumber: [100, 2000, 536870911] },
        },
      },
      {
        validHost: '',
        messageResponse: { case: 'listServicesResponse', value: { service: [{ name: 'a.S' }] } },
      },
      {
        validHost: '',
        messageResponse: { case: 'errorResponse', value: { errorCode: 5, errorMessage: 'no' } },
      },
    ];
    for (const response of responses) {
      const decoded = reflectionCodec.decodeResponse(reflectionCodec.encodeResponse(response));
      expect(decoded).toEqual(response);
    }
  });
});
