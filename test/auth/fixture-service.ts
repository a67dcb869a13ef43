import assert from "node:assert/strict";
import { create, createFileRegistry, setExtension, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MethodOptionsSchema, ServiceOptionsSchema, file_google_protobuf_descriptor } from "@bufbuild/protobuf/wkt";
import { default_policy, file_protogate_v1_auth, policy, required_roles, type Policy } from "protogate";

/**
 * Builds `fixture.v1.FixtureService` at run time, as if compiled from a .proto using our
 * options: a service default policy, and per method a policy and required roles.
 */
export function fixtureService(serviceDefault: Policy | undefined, methods: Record<string, { policy?: Policy; roles?: string[] }>): DescService {
  let options;
  if (serviceDefault !== undefined) {
    options = create(ServiceOptionsSchema);
    setExtension(options, default_policy, serviceDefault);
  }
  const file = create(FileDescriptorProtoSchema, {
    name: "fixture/v1/fixture.proto",
    package: "fixture.v1",
    syntax: "proto3",
    dependency: ["protogate/v1/auth.proto"],
    messageType: [{ name: "Empty" }],
    service: [
      {
        name: "FixtureService",
        options,
        method: Object.entries(methods).map(([name, m]) => {
          const o = create(MethodOptionsSchema);
          if (m.policy !== undefined) setExtension(o, policy, m.policy);
          if (m.roles !== undefined) setExtension(o, required_roles, m.roles);
          return { name, inputType: ".fixture.v1.Empty", outputType: ".fixture.v1.Empty", options: o };
        }),
      },
    ],
  });
  const registry = createFileRegistry(file, (n) =>
    n === "protogate/v1/auth.proto" ? file_protogate_v1_auth : n === "google/protobuf/descriptor.proto" ? file_google_protobuf_descriptor : undefined,
  );
  const service = registry.getService("fixture.v1.FixtureService");
  assert.ok(service);
  return service;
}
