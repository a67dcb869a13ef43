// npm run proto:image [-- OUT]
//
// Compiles every .proto of the project (proto/ and the protogate package's) with its imports, and
// google.rpc's status and error details, into one descriptor set, build/proto.binpb by default: what `buf generate` and `buf lint` read, and
// what other tools take as a schema (`buf curl --schema`, `grpc_tools.protoc --descriptor_set_in`).
//
// Why not `buf build`: the field rules import buf/validate/validate.proto, which no npm package
// ships as source. @bufbuild/protovalidate ships it compiled, so its descriptor (and those of
// its imports) is written to a descriptor set here and handed to protoc (the npm package
// `protoc`) with --descriptor_set_in: nothing is copied by hand, and the rules always match the
// validator that enforces them.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The directories whose every .proto is compiled: the project's, then the library's. */
const includes = ["proto", "packages/protogate/proto"];
/**
 * Google's status and error details, as the library generates them (from the npm package
 * `google-proto-files`): in the image so that a client in another language can decode the
 * `grpc-status-details-bin` of a refusal (the README's Python example does).
 */
const googleProtos = { dir: "packages/protogate/node_modules/google-proto-files", files: ["google/rpc/status.proto", "google/rpc/error_details.proto"] };

/** `file` and everything it imports, imports first (the order a descriptor set wants). */
function withImports(file: DescFile, out: DescFile[] = [], seen = new Set<string>()): DescFile[] {
  if (seen.has(file.proto.name)) return out;
  seen.add(file.proto.name);
  for (const dep of file.dependencies) withImports(dep, out, seen);
  out.push(file);
  return out;
}

function protoFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".proto"))
    .sort();
}

/** Writes the descriptor set (see the top of this file) to `out`, creating its directory. */
export function writeProtoImage(out: string): void {
  const scratch = mkdtempSync(join(tmpdir(), "proto-image-"));
  try {
    const validate = join(scratch, "validate.binpb");
    const set = create(FileDescriptorSetSchema, { file: withImports(file_buf_validate_validate).map((f) => f.proto) });
    writeFileSync(validate, toBinary(FileDescriptorSetSchema, set));
    mkdirSync(dirname(out), { recursive: true });
    execFileSync(
      join(root, "node_modules/.bin/protoc"),
      [
        `--descriptor_set_in=${validate}`,
        ...[...includes, googleProtos.dir].map((dir) => `--proto_path=${join(root, dir)}`),
        "--include_imports",
        "--include_source_info",
        `--descriptor_set_out=${out}`,
        ...includes.flatMap(protoFiles),
        ...googleProtos.files,
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The descriptor set's bytes, for a reader that needs no file (@grpc/proto-loader). */
export function readProtoImage(): Buffer {
  const scratch = mkdtempSync(join(tmpdir(), "proto-image-out-"));
  try {
    writeProtoImage(join(scratch, "proto.binpb"));
    return readFileSync(join(scratch, "proto.binpb"));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeProtoImage(resolve(process.argv[2] ?? join(root, "build/proto.binpb")));
}
