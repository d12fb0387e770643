/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, the same protocol
 * under two package names), answered from the descriptors the bundle already
 * has: each served service's file as protoc-gen-es embedded it in gen/, and
 * that file's imports. grpcurl, `buf curl --reflect`, Postman and Kreya list
 * the services and build requests without a copy of the protos.
 *
 * As grpc-go does, a file is sent with those of its imports not yet sent on
 * the same stream.
 */
import { toBinary, type DescExtension, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** gRPC status codes the protocol puts in ErrorResponse. */
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The files, symbols and extensions of a set of services, looked up by name. */
export class DescriptorIndex {
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  /** Extendee type name → field number → extension. */
  private readonly extensions = new Map<string, Map<number, DescExtension>>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = [...new Set(services.map((s) => s.typeName))].sort();
    for (const s of services) this.addFile(s.file);
  }

  file(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  fileOfSymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol);
  }

  extension(extendee: string, number: number): DescExtension | undefined {
    return this.extensions.get(extendee)?.get(number);
  }

  extensionNumbers(extendee: string): number[] | undefined {
    const known = this.extensions.get(extendee);
    if (known) return [...known.keys()].sort((a, b) => a - b);
    return this.symbols.has(extendee) ? [] : undefined;
  }

  /**
   * `file` and its imports, each as a serialized FileDescriptorProto: the file asked for always,
   * its imports unless `sent` has them (and `sent` then has them all).
   */
  withImports(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile, asked: boolean) => {
      if (seen.has(f.name) || (!asked && sent.has(f.name))) return;
      seen.add(f.name);
      sent.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const d of f.dependencies) visit(d, false);
    };
    visit(file, true);
    return out;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const d of file.dependencies) this.addFile(d);
    for (const s of file.services) {
      this.symbols.set(s.typeName, file);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const e of file.enums) this.symbols.set(e.typeName, file);
    for (const x of file.extensions) this.addExtension(x);
    const messages = (list: readonly DescMessage[]) => {
      for (const m of list) {
        this.symbols.set(m.typeName, file);
        for (const e of m.nestedEnums) this.symbols.set(e.typeName, file);
        for (const x of m.nestedExtensions) this.addExtension(x);
        messages(m.nestedMessages);
      }
    };
    messages(file.messages);
  }

  private addExtension(x: DescExtension): void {
    this.symbols.set(x.typeName, x.file);
    let byNumber = this.extensions.get(x.extendee.typeName);
    if (!byNumber) this.extensions.set(x.extendee.typeName, (byNumber = new Map()));
    byNumber.set(x.number, x);
  }
}

/** The request of either version (the two share one shape). */
interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

function answer(index: DescriptorIndex, req: ReflectionRequest, sent: Set<string>) {
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: index.withImports(file, sent) } }
      : error(NOT_FOUND, `${what} not found`);
  const r = req.messageRequest;
  let messageResponse;
  switch (r.case) {
    case "fileByFilename":
      messageResponse = files(index.file(r.value), `file ${r.value}`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.fileOfSymbol(r.value), `symbol ${r.value}`);
      break;
    case "fileContainingExtension": {
      const x = index.extension(r.value.containingType, r.value.extensionNumber);
      messageResponse = files(x?.file, `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
      break;
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(r.value);
      messageResponse = numbers
        ? {
            case: "allExtensionNumbersResponse" as const,
            value: { baseTypeName: r.value, extensionNumber: numbers },
          }
        : error(NOT_FOUND, `type ${r.value} not found`);
      break;
    }
    case "listServices":
      messageResponse = {
        case: "listServicesResponse" as const,
        value: { service: index.serviceNames.map((name) => ({ name })) },
      };
      break;
    default:
      messageResponse = error(INVALID_ARGUMENT, "the request names no message_request");
  }
  return { validHost: req.host, originalRequest: req, messageResponse };
}

function error(errorCode: number, errorMessage: string) {
  return { case: "errorResponse" as const, value: { errorCode, errorMessage } };
}

function implementation(index: DescriptorIndex) {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<ReflectionRequest>) {
      const sent = new Set<string>();
      for await (const req of requests) yield answer(index, req, sent);
    },
  };
}

export function reflectionV1(index: DescriptorIndex): ServiceImpl<typeof ReflectionV1> {
  return implementation(index) as unknown as ServiceImpl<typeof ReflectionV1>;
}

export function reflectionV1alpha(index: DescriptorIndex): ServiceImpl<typeof ReflectionV1alpha> {
  return implementation(index) as unknown as ServiceImpl<typeof ReflectionV1alpha>;
}

export { ReflectionV1, ReflectionV1alpha };
