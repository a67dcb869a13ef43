import { createRegistry, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1, type ServerReflectionRequest } from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  type ServerReflectionRequest as ServerReflectionRequestV1alpha,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** A reflection request of either version, as plain data (v1 and v1alpha share the shape). */
interface Request {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

function plain(req: ServerReflectionRequest | ServerReflectionRequestV1alpha): Request {
  const r = req.messageRequest;
  return {
    host: req.host,
    messageRequest:
      r.case === "fileContainingExtension"
        ? { case: r.case, value: { containingType: r.value.containingType, extensionNumber: r.value.extensionNumber } }
        : r.case === undefined
          ? { case: undefined }
          : { case: r.case, value: r.value },
  };
}

/**
 * Answers gRPC server reflection from the descriptors protoc-gen-es embeds in the generated
 * code: the services on this port, and any file or symbol they reach (with its imports).
 */
function createReflection(services: readonly DescService[]) {
  const files = new Map<string, DescFile>();
  const addFile = (f: DescFile) => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    f.dependencies.forEach(addFile);
  };
  services.forEach((s) => addFile(s.file));
  const registry = createRegistry(...files.values());
  const serviceNames = services.map((s) => s.typeName).sort();

  /** The file and everything it imports, each once, dependencies first. */
  const closure = (file: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      f.dependencies.forEach(visit);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    };
    visit(file);
    return out;
  };
  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const desc = registry.get(symbol);
    if (desc !== undefined) return desc.file;
    // a method, or a field or enum value: its parent holds the file
    const parent = symbol.slice(0, Math.max(0, symbol.lastIndexOf(".")));
    return parent === "" ? undefined : registry.get(parent)?.file;
  };
  const notFound = (message: string) => ({
    case: "errorResponse" as const,
    value: { errorCode: Code.NotFound, errorMessage: message },
  });

  return (req: Request) => {
    const r = req.messageRequest;
    let messageResponse;
    switch (r.case) {
      case "listServices":
        messageResponse = { case: "listServicesResponse" as const, value: { service: serviceNames.map((name) => ({ name })) } };
        break;
      case "fileByFilename": {
        const f = files.get(r.value);
        messageResponse = f ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: closure(f) } } : notFound(`file ${r.value} not found`);
        break;
      }
      case "fileContainingSymbol": {
        const f = fileOfSymbol(r.value);
        messageResponse = f ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: closure(f) } } : notFound(`symbol ${r.value} not found`);
        break;
      }
      case "fileContainingExtension": {
        const extendee = registry.getMessage(r.value.containingType);
        const ext = extendee && registry.getExtensionFor(extendee, r.value.extensionNumber);
        messageResponse = ext ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: closure(ext.file) } } : notFound("extension not found");
        break;
      }
      case "allExtensionNumbersOfType": {
        const extendee = registry.getMessage(r.value);
        const numbers: number[] = [];
        for (const d of registry) if (d.kind === "extension" && d.extendee.typeName === r.value) numbers.push(d.number);
        messageResponse = extendee
          ? { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: r.value, extensionNumber: numbers.sort((a, b) => a - b) } }
          : notFound(`type ${r.value} not found`);
        break;
      }
      default:
        messageResponse = { case: "errorResponse" as const, value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" } };
    }
    return { validHost: req.host, originalRequest: req, messageResponse };
  };
}

/** The reflection services (v1 and v1alpha) to register on a port serving `services`. */
export function reflectionServices(services: readonly DescService[]): {
  v1: ServiceImpl<typeof ServerReflectionV1>;
  v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
} {
  const all = [...services, ServerReflectionV1, ServerReflectionV1alpha];
  const answer = createReflection(all);
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(plain(req));
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(plain(req));
      },
    },
  };
}

export { ServerReflectionV1, ServerReflectionV1alpha };
