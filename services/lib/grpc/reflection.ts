/**
 * gRPC server reflection (`grpc.reflection.v1` and `grpc.reflection.v1alpha`), served from the
 * descriptor set that `buf build` writes to gen/descriptor.binpb.
 *
 * This module owns the reflection protocol: its wire codecs, the index of symbols and files it
 * answers from, and the descriptors of the reflection service itself. It exists because the
 * grpc-node reflection package, fed by proto-loader, serves file descriptors with an empty
 * dependency list (grpc-node issue 2595), so grpcurl and `buf curl` cannot resolve any type from
 * an imported file. A descriptor set built by buf carries every file with its imports, so we
 * serve that instead, as the protocol asks: a file always comes with all its transitive
 * dependencies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  type FieldDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** Where `npm run gen` (scripts/gen.sh) writes the descriptor set of everything in proto/. */
export const DESCRIPTOR_SET_PATH = path.resolve(__dirname, '../../../gen/descriptor.binpb');

/** The reflection services this module registers; both are always listed. */
export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

/** gRPC status codes carried in an error_response (the protocol uses the same numbers). */
const NOT_FOUND = grpc.status.NOT_FOUND;
const INVALID_ARGUMENT = grpc.status.INVALID_ARGUMENT;

/**
 * Reads the serialized FileDescriptorSet that `npm run gen` builds. Fails with a message that
 * says how to make it, since a server started from a fresh clone has none.
 */
export function loadDescriptorSet(file: string = DESCRIPTOR_SET_PATH): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new Error(`cannot read the descriptor set ${file}: run npm run gen`, { cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Messages of the reflection protocol (identical in v1 and v1alpha).

/** ServerReflectionRequest.file_containing_extension. */
export interface ExtensionRequest {
  containingType: string;
  extensionNumber: number;
}

/** ServerReflectionRequest: `messageRequest` is its oneof; `case: undefined` when unset. */
export interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: 'fileByFilename'; value: string }
    | { case: 'fileContainingSymbol'; value: string }
    | { case: 'fileContainingExtension'; value: ExtensionRequest }
    | { case: 'allExtensionNumbersOfType'; value: string }
    | { case: 'listServices'; value: string }
    | { case: undefined };
}

/** ServerReflectionResponse: `messageResponse` is its oneof. */
export interface ReflectionResponse {
  validHost: string;
  originalRequest?: ReflectionRequest;
  messageResponse:
    | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
    | {
        case: 'allExtensionNumbersResponse';
        value: { baseTypeName: string; extensionNumber: number[] };
      }
    | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
    | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } }
    | { case: undefined };
}

function writeRequest(request: ReflectionRequest, w: BinaryWriter): BinaryWriter {
  if (request.host !== '') w.tag(1, WireType.LengthDelimited).string(request.host);
  const m = request.messageRequest;
  switch (m.case) {
    case 'fileByFilename':
      w.tag(3, WireType.LengthDelimited).string(m.value);
      break;
    case 'fileContainingSymbol':
      w.tag(4, WireType.LengthDelimited).string(m.value);
      break;
    case 'fileContainingExtension':
      w.tag(5, WireType.LengthDelimited).fork();
      if (m.value.containingType !== '') {
        w.tag(1, WireType.LengthDelimited).string(m.value.containingType);
      }
      if (m.value.extensionNumber !== 0) w.tag(2, WireType.Varint).int32(m.value.extensionNumber);
      w.join();
      break;
    case 'allExtensionNumbersOfType':
      w.tag(6, WireType.LengthDelimited).string(m.value);
      break;
    case 'listServices':
      w.tag(7, WireType.LengthDelimited).string(m.value);
      break;
    case undefined:
      break;
  }
  return w;
}

function readExtensionRequest(bytes: Uint8Array): ExtensionRequest {
  const r = new BinaryReader(bytes);
  const value: ExtensionRequest = { containingType: '', extensionNumber: 0 };
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === 1 && wireType === WireType.LengthDelimited) value.containingType = r.string();
    else if (no === 2 && wireType === WireType.Varint) value.extensionNumber = r.int32();
    else r.skip(wireType, no);
  }
  return value;
}

function readRequest(bytes: Uint8Array): ReflectionRequest {
  const r = new BinaryReader(bytes);
  const request: ReflectionRequest = { host: '', messageRequest: { case: undefined } };
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (wireType !== WireType.LengthDelimited) {
      r.skip(wireType, no);
      continue;
    }
    switch (no) {
      case 1:
        request.host = r.string();
        break;
      case 3:
        request.messageRequest = { case: 'fileByFilename', value: r.string() };
        break;
      case 4:
        request.messageRequest = { case: 'fileContainingSymbol', value: r.string() };
        break;
      case 5:
        request.messageRequest = {
          case: 'fileContainingExtension',
          value: readExtensionRequest(r.bytes()),
        };
        break;
      case 6:
        request.messageRequest = { case: 'allExtensionNumbersOfType', value: r.string() };
        break;
      case 7:
        request.messageRequest = { case: 'listServices', value: r.string() };
        break;
      default:
        r.skip(wireType, no);
    }
  }
  return request;
}

function writeResponse(response: ReflectionResponse, w: BinaryWriter): BinaryWriter {
  if (response.validHost !== '') w.tag(1, WireType.LengthDelimited).string(response.validHost);
  if (response.originalRequest !== undefined) {
    w.tag(2, WireType.LengthDelimited).fork();
    writeRequest(response.originalRequest, w);
    w.join();
  }
  const m = response.messageResponse;
  switch (m.case) {
    case 'fileDescriptorResponse':
      w.tag(4, WireType.LengthDelimited).fork();
      for (const file of m.value.fileDescriptorProto)
        w.tag(1, WireType.LengthDelimited).bytes(file);
      w.join();
      break;
    case 'allExtensionNumbersResponse':
      w.tag(5, WireType.LengthDelimited).fork();
      if (m.value.baseTypeName !== '') {
        w.tag(1, WireType.LengthDelimited).string(m.value.baseTypeName);
      }
      if (m.value.extensionNumber.length > 0) {
        w.tag(2, WireType.LengthDelimited).fork();
        for (const n of m.value.extensionNumber) w.int32(n);
        w.join();
      }
      w.join();
      break;
    case 'listServicesResponse':
      w.tag(6, WireType.LengthDelimited).fork();
      for (const service of m.value.service) {
        w.tag(1, WireType.LengthDelimited).fork();
        if (service.name !== '') w.tag(1, WireType.LengthDelimited).string(service.name);
        w.join();
      }
      w.join();
      break;
    case 'errorResponse':
      w.tag(7, WireType.LengthDelimited).fork();
      if (m.value.errorCode !== 0) w.tag(1, WireType.Varint).int32(m.value.errorCode);
      if (m.value.errorMessage !== '') {
        w.tag(2, WireType.LengthDelimited).string(m.value.errorMessage);
      }
      w.join();
      break;
    case undefined:
      break;
  }
  return w;
}

/** Calls `each` with the field number, wire type and reader of every field in `bytes`. */
function readFields(
  bytes: Uint8Array,
  each: (no: number, wireType: WireType, r: BinaryReader) => boolean,
): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (!each(no, wireType, r)) r.skip(wireType, no);
  }
}

function readResponse(bytes: Uint8Array): ReflectionResponse {
  const response: ReflectionResponse = { validHost: '', messageResponse: { case: undefined } };
  const LD = WireType.LengthDelimited;
  readFields(bytes, (no, wireType, r) => {
    if (no === 1 && wireType === LD) response.validHost = r.string();
    else if (no === 2 && wireType === LD) response.originalRequest = readRequest(r.bytes());
    else if (no === 4 && wireType === LD) {
      const fileDescriptorProto: Uint8Array[] = [];
      readFields(r.bytes(), (n, t, fr) => {
        if (n !== 1 || t !== LD) return false;
        fileDescriptorProto.push(fr.bytes());
        return true;
      });
      response.messageResponse = { case: 'fileDescriptorResponse', value: { fileDescriptorProto } };
    } else if (no === 5 && wireType === LD) {
      const value = { baseTypeName: '', extensionNumber: [] as number[] };
      readFields(r.bytes(), (n, t, er) => {
        if (n === 1 && t === LD) value.baseTypeName = er.string();
        else if (n === 2 && t === WireType.Varint) value.extensionNumber.push(er.int32());
        else if (n === 2 && t === LD) {
          const packed = new BinaryReader(er.bytes());
          while (packed.pos < packed.len) value.extensionNumber.push(packed.int32());
        } else return false;
        return true;
      });
      response.messageResponse = { case: 'allExtensionNumbersResponse', value };
    } else if (no === 6 && wireType === LD) {
      const service: { name: string }[] = [];
      readFields(r.bytes(), (n, t, sr) => {
        if (n !== 1 || t !== LD) return false;
        const entry = { name: '' };
        readFields(sr.bytes(), (nn, tt, nr) => {
          if (nn !== 1 || tt !== LD) return false;
          entry.name = nr.string();
          return true;
        });
        service.push(entry);
        return true;
      });
      response.messageResponse = { case: 'listServicesResponse', value: { service } };
    } else if (no === 7 && wireType === LD) {
      const value = { errorCode: 0, errorMessage: '' };
      readFields(r.bytes(), (n, t, er) => {
        if (n === 1 && t === WireType.Varint) value.errorCode = er.int32();
        else if (n === 2 && t === LD) value.errorMessage = er.string();
        else return false;
        return true;
      });
      response.messageResponse = { case: 'errorResponse', value };
    } else return false;
    return true;
  });
  return response;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Wire codecs of the reflection messages, written by hand over the protobuf wire format so this
 * module needs neither reflection.proto nor generated code. Both directions are here because a
 * grpc-js method definition carries the client's codecs too.
 */
export const reflectionCodec = {
  encodeRequest: (request: ReflectionRequest): Buffer =>
    toBuffer(writeRequest(request, new BinaryWriter()).finish()),
  decodeRequest: (bytes: Uint8Array): ReflectionRequest => readRequest(bytes),
  encodeResponse: (response: ReflectionResponse): Buffer =>
    toBuffer(writeResponse(response, new BinaryWriter()).finish()),
  decodeResponse: (bytes: Uint8Array): ReflectionResponse => readResponse(bytes),
};

// ---------------------------------------------------------------------------------------------
// The index that reflection answers from.

type SymbolKind = 'message' | 'enum' | 'enum value' | 'field' | 'oneof' | 'service' | 'method';

/**
 * Every file of a schema, serialized once, with the fully-qualified name of every symbol it
 * declares and every extension it defines. Holds: each file's imports are in the index (checked
 * on construction), so a file can always be served with its whole dependency closure.
 */
export class SchemaIndex {
  private readonly files = new Map<string, { proto: FileDescriptorProto; bytes: Uint8Array }>();
  private readonly symbols = new Map<string, { file: string; kind: SymbolKind }>();
  /** Extendee (fully-qualified, no leading dot) -> extension number -> file defining it. */
  private readonly extensions = new Map<string, Map<number, string>>();

  /** Indexes `files`; a later file with the name of an earlier one is ignored. */
  constructor(files: Iterable<FileDescriptorProto>) {
    for (const file of files) {
      if (this.files.has(file.name)) continue;
      // Without unknown fields: buf's image extension on each file is for buf, not clients.
      const bytes = toBinary(FileDescriptorProtoSchema, file, { writeUnknownFields: false });
      this.files.set(file.name, { proto: file, bytes });
      this.indexFile(file);
    }
    for (const { proto } of this.files.values()) {
      for (const dependency of proto.dependency) {
        if (!this.files.has(dependency)) {
          throw new Error(
            `descriptor set lacks ${dependency}, imported by ${proto.name}: build it with its ` +
              'imports (buf build without --exclude-imports)',
          );
        }
      }
    }
  }

  /** Parses a serialized FileDescriptorSet (or a buf image, which is wire-compatible). */
  static fromDescriptorSet(
    descriptorSet: Uint8Array,
    extraFiles: Iterable<FileDescriptorProto> = [],
  ): SchemaIndex {
    const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
    return new SchemaIndex([...set.file, ...extraFiles]);
  }

  /** The kind of a fully-qualified symbol, or undefined if no file declares it. */
  kindOf(symbol: string): SymbolKind | undefined {
    return this.symbols.get(stripDot(symbol))?.kind;
  }

  /** The named file first, then every file it imports, transitively; undefined if unknown. */
  fileWithDependencies(name: string): Uint8Array[] | undefined {
    if (!this.files.has(name)) return undefined;
    const order: string[] = [name];
    const seen = new Set(order);
    for (let i = 0; i < order.length; i++) {
      const file = this.files.get(order[i] ?? '');
      for (const dependency of file?.proto.dependency ?? []) {
        if (!seen.has(dependency)) {
          seen.add(dependency);
          order.push(dependency);
        }
      }
    }
    return order.map((file) => this.files.get(file)?.bytes ?? new Uint8Array());
  }

  /** The file declaring a symbol (package.Message, .Nested, .field, package.Service.Method...). */
  fileContainingSymbol(symbol: string): string | undefined {
    return this.symbols.get(stripDot(symbol))?.file;
  }

  /** The file defining extension `number` of message `extendee`. */
  fileContainingExtension(extendee: string, number: number): string | undefined {
    return this.extensions.get(stripDot(extendee))?.get(number);
  }

  /** The extension numbers defined for a message, ascending. */
  extensionNumbersOf(extendee: string): number[] {
    return [...(this.extensions.get(stripDot(extendee))?.keys() ?? [])].sort((a, b) => a - b);
  }

  private indexFile(file: FileDescriptorProto): void {
    const scope = file.package;
    const add = (name: string, kind: SymbolKind): void => {
      if (!this.symbols.has(name)) this.symbols.set(name, { file: file.name, kind });
    };
    const addEnums = (parent: string, enums: FileDescriptorProto['enumType']): void => {
      for (const e of enums) {
        add(qualify(parent, e.name), 'enum');
        // Enum values are siblings of their enum, as in C++ scoping.
        for (const v of e.value) add(qualify(parent, v.name), 'enum value');
      }
    };
    const addExtensions = (parent: string, extensions: FieldDescriptorProto[]): void => {
      for (const ext of extensions) {
        add(qualify(parent, ext.name), 'field');
        const extendee = stripDot(ext.extendee);
        const numbers = this.extensions.get(extendee) ?? new Map<number, string>();
        if (!numbers.has(ext.number)) numbers.set(ext.number, file.name);
        this.extensions.set(extendee, numbers);
      }
    };
    const addMessages = (parent: string, messages: DescriptorProto[]): void => {
      for (const m of messages) {
        const name = qualify(parent, m.name);
        add(name, 'message');
        for (const f of m.field) add(`${name}.${f.name}`, 'field');
        for (const o of m.oneofDecl) add(`${name}.${o.name}`, 'oneof');
        addEnums(name, m.enumType);
        addExtensions(name, m.extension);
        addMessages(name, m.nestedType);
      }
    };
    addMessages(scope, file.messageType);
    addEnums(scope, file.enumType);
    addExtensions(scope, file.extension);
    for (const s of file.service) {
      const name = qualify(scope, s.name);
      add(name, 'service');
      for (const m of s.method) add(`${name}.${m.name}`, 'method');
    }
  }
}

function qualify(scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`;
}

function stripDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

/** Answers one reflection request; pure, so the stream handler only moves messages. */
export function answerReflection(
  index: SchemaIndex,
  services: readonly string[],
  request: ReflectionRequest,
): ReflectionResponse {
  const reply = (messageResponse: ReflectionResponse['messageResponse']): ReflectionResponse => ({
    validHost: request.host,
    originalRequest: request,
    messageResponse,
  });
  const notFound = (errorMessage: string): ReflectionResponse =>
    reply({ case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage } });
  const files = (name: string | undefined, what: string): ReflectionResponse => {
    const fileDescriptorProto = name === undefined ? undefined : index.fileWithDependencies(name);
    return fileDescriptorProto === undefined
      ? notFound(`${what} not found`)
      : reply({ case: 'fileDescriptorResponse', value: { fileDescriptorProto } });
  };

  const m = request.messageRequest;
  switch (m.case) {
    case 'listServices':
      return reply({
        case: 'listServicesResponse',
        value: { service: services.map((name) => ({ name })) },
      });
    case 'fileByFilename':
      return files(m.value, `file ${m.value}`);
    case 'fileContainingSymbol':
      return files(index.fileContainingSymbol(m.value), `symbol ${m.value}`);
    case 'fileContainingExtension': {
      const { containingType, extensionNumber } = m.value;
      return files(
        index.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${containingType}`,
      );
    }
    case 'allExtensionNumbersOfType':
      if (index.kindOf(m.value) !== 'message') return notFound(`message type ${m.value} not found`);
      return reply({
        case: 'allExtensionNumbersResponse',
        value: {
          baseTypeName: stripDot(m.value),
          extensionNumber: index.extensionNumbersOf(m.value),
        },
      });
    case undefined:
      return reply({
        case: 'errorResponse',
        value: { errorCode: INVALID_ARGUMENT, errorMessage: 'the request sets no message_request' },
      });
  }
}

// ---------------------------------------------------------------------------------------------
// The reflection service's own schema, so that clients can describe every service we list.

type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;

function field(
  name: string,
  number: number,
  type: FieldDescriptorProto_Type,
  options: { repeated?: boolean; typeName?: string; oneofIndex?: number } = {},
): FieldInit {
  return {
    name,
    number,
    type,
    label: options.repeated
      ? FieldDescriptorProto_Label.REPEATED
      : FieldDescriptorProto_Label.OPTIONAL,
    jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
    ...(options.typeName === undefined ? {} : { typeName: options.typeName }),
    ...(options.oneofIndex === undefined ? {} : { oneofIndex: options.oneofIndex }),
  };
}

/** grpc/reflection/{version}/reflection.proto, as a descriptor. */
function reflectionFileDescriptor(version: 'v1' | 'v1alpha'): FileDescriptorProto {
  const pkg = `grpc.reflection.${version}`;
  const { STRING, INT32, BYTES, MESSAGE } = FieldDescriptorProto_Type;
  const msg = (name: string): { typeName: string } => ({ typeName: `.${pkg}.${name}` });
  return create(FileDescriptorProtoSchema, {
    name: `grpc/reflection/${version}/reflection.proto`,
    package: pkg,
    syntax: 'proto3',
    messageType: [
      {
        name: 'ServerReflectionRequest',
        field: [
          field('host', 1, STRING),
          field('file_by_filename', 3, STRING, { oneofIndex: 0 }),
          field('file_containing_symbol', 4, STRING, { oneofIndex: 0 }),
          field('file_containing_extension', 5, MESSAGE, {
            ...msg('ExtensionRequest'),
            oneofIndex: 0,
          }),
          field('all_extension_numbers_of_type', 6, STRING, { oneofIndex: 0 }),
          field('list_services', 7, STRING, { oneofIndex: 0 }),
        ],
        oneofDecl: [{ name: 'message_request' }],
      },
      {
        name: 'ExtensionRequest',
        field: [field('containing_type', 1, STRING), field('extension_number', 2, INT32)],
      },
      {
        name: 'ServerReflectionResponse',
        field: [
          field('valid_host', 1, STRING),
          field('original_request', 2, MESSAGE, msg('ServerReflectionRequest')),
          field('file_descriptor_response', 4, MESSAGE, {
            ...msg('FileDescriptorResponse'),
            oneofIndex: 0,
          }),
          field('all_extension_numbers_response', 5, MESSAGE, {
            ...msg('ExtensionNumberResponse'),
            oneofIndex: 0,
          }),
          field('list_services_response', 6, MESSAGE, {
            ...msg('ListServiceResponse'),
            oneofIndex: 0,
          }),
          field('error_response', 7, MESSAGE, { ...msg('ErrorResponse'), oneofIndex: 0 }),
        ],
        oneofDecl: [{ name: 'message_response' }],
      },
      {
        name: 'FileDescriptorResponse',
        field: [field('file_descriptor_proto', 1, BYTES, { repeated: true })],
      },
      {
        name: 'ExtensionNumberResponse',
        field: [
          field('base_type_name', 1, STRING),
          field('extension_number', 2, INT32, { repeated: true }),
        ],
      },
      {
        name: 'ListServiceResponse',
        field: [field('service', 1, MESSAGE, { ...msg('ServiceResponse'), repeated: true })],
      },
      { name: 'ServiceResponse', field: [field('name', 1, STRING)] },
      {
        name: 'ErrorResponse',
        field: [field('error_code', 1, INT32), field('error_message', 2, STRING)],
      },
    ],
    service: [
      {
        name: 'ServerReflection',
        method: [
          {
            name: 'ServerReflectionInfo',
            inputType: `.${pkg}.ServerReflectionRequest`,
            outputType: `.${pkg}.ServerReflectionResponse`,
            clientStreaming: true,
            serverStreaming: true,
          },
        ],
      },
    ],
  });
}

function reflectionServiceDefinition(version: 'v1' | 'v1alpha'): grpc.ServiceDefinition {
  return {
    serverReflectionInfo: {
      path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      requestStream: true,
      responseStream: true,
      requestSerialize: reflectionCodec.encodeRequest,
      requestDeserialize: reflectionCodec.decodeRequest,
      responseSerialize: reflectionCodec.encodeResponse,
      responseDeserialize: reflectionCodec.decodeResponse,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Registration.

export interface ReflectionOptions {
  /** Serialized FileDescriptorSet with imports, e.g. from {@link loadDescriptorSet}. */
  descriptorSet: Uint8Array;
  /**
   * Fully-qualified names of the other services registered on the server, e.g.
   * `exchange.v1.EngineService` and `grpc.health.v1.Health`. Each must be declared in the
   * descriptor set or in `extraFiles`, so that a client can describe everything it is shown.
   * The reflection services are listed without being named here.
   */
  services: readonly string[];
  /** Files of services outside proto/ (the health service's, from health.ts). */
  extraFiles?: readonly FileDescriptorProto[];
}

/**
 * Registers `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection`
 * on `server`. Throws at once if a listed service is not in the schema or a file's import is
 * missing: a reflection service that cannot describe what it lists is the bug this replaces.
 */
export function addReflection(server: grpc.Server, options: ReflectionOptions): SchemaIndex {
  const index = SchemaIndex.fromDescriptorSet(options.descriptorSet, [
    ...(options.extraFiles ?? []),
    reflectionFileDescriptor('v1'),
    reflectionFileDescriptor('v1alpha'),
  ]);
  const services = [...new Set([...options.services, ...REFLECTION_SERVICE_NAMES])];
  for (const name of services) {
    if (index.kindOf(name) !== 'service') {
      throw new Error(`reflection cannot describe ${name}: no file in the schema declares it`);
    }
  }
  const handler: grpc.handleBidiStreamingCall<ReflectionRequest, ReflectionResponse> = (call) => {
    call.on('data', (request: ReflectionRequest) => {
      let response: ReflectionResponse;
      try {
        response = answerReflection(index, services, request);
      } catch (err) {
        call.emit('error', {
          code: grpc.status.INTERNAL,
          details: `reflection failed: ${err instanceof Error ? err.message : String(err)}`,
        });
        return;
      }
      call.write(response);
    });
    call.on('end', () => call.end());
  };
  server.addService(reflectionServiceDefinition('v1'), { serverReflectionInfo: handler });
  server.addService(reflectionServiceDefinition('v1alpha'), { serverReflectionInfo: handler });
  return index;
}
