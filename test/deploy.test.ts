import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { parseAllDocuments } from "yaml";
import { defaultConfig, envOverrides, loadConfig } from "../src/config.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { services } from "../src/routes.js";
import { freePort } from "../scripts/free-port.js";
import { runBookstore, startServerProcess, tempDir, testSecret } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

type Doc = { kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

/**
 * Every document of every manifest under deploy/kubernetes, by kind and name, read as Kubernetes
 * reads them: YAML 1.1, where `defaultMode: 0400` is octal (256), not the decimal 400 of YAML 1.2.
 */
function manifests(): Doc[] {
  const root = "deploy/kubernetes";
  return readdirSync(root)
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .flatMap((f) => parseAllDocuments(readFileSync(join(root, f), "utf8"), { version: "1.1" }).map((d) => d.toJS() as Doc));
}

describe("Kubernetes manifests agree with each other and with the code", () => {
  const docs = manifests();
  const one = (kind: string, name?: string) => {
    const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
    assert.equal(found.length, 1, `one ${kind} ${name ?? ""}`);
    return found[0]!;
  };
  const deployment = one("Deployment");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort])) as Record<string, number>;

  test("every resource the issue names is there, each listed in the kustomization", () => {
    for (const kind of ["Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler"]) assert.ok(docs.some((d) => d.kind === kind), kind);
    const kustomization = parseAllDocuments(readFileSync("deploy/kubernetes/kustomization.yaml", "utf8"))[0]!.toJS() as { resources: string[] };
    assert.deepEqual(kustomization.resources.sort(), readdirSync("deploy/kubernetes").filter((f) => f !== "kustomization.yaml").sort());
  });

  // kubectl is on this project's machines; elsewhere Debian's kubernetes-client package has it. With
  // REQUIRE_KUBECTL=1 a missing kubectl fails this test instead of skipping it.
  const hasKubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;
  const skipKustomize = !hasKubectl && process.env.REQUIRE_KUBECTL !== "1" && "needs kubectl on PATH (apt-get install kubernetes-client), or REQUIRE_KUBECTL=1 to fail without it";
  test("kubectl kustomize builds them: the same objects, none added, none changed", { skip: skipKustomize }, async () => {
    assert.ok(hasKubectl, "REQUIRE_KUBECTL is set but kubectl does not run");
    const kubectl = await promisify(execFile)("kubectl", ["kustomize", "deploy/kubernetes"]);
    const byId = (list: Doc[]) => new Map(list.map((d) => [`${d.kind}/${d.metadata.name}`, d]));
    const built = byId(parseAllDocuments(kubectl.stdout).map((d) => d.toJS() as Doc));
    const written = byId(docs);
    assert.deepEqual([...built.keys()].sort(), [...written.keys()].sort());
    for (const [id, doc] of written) assert.deepEqual(built.get(id), doc, id);
  });

  test("container ports are the code's default ports; the Service targets them by name", () => {
    assert.deepEqual(ports, { user: defaultConfig.user.port, search: defaultConfig.search.port });
    const service = one("Service");
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
    for (const p of service.spec.ports) {
      assert.ok(p.targetPort in ports, `targetPort ${p.targetPort}`);
      assert.equal(p.port, (ports as Record<string, number>)[p.targetPort]);
    }
  });

  test("probes use the health endpoints and gRPC health of a service the port serves", () => {
    const portOf = (p: string | number) => (typeof p === "number" ? p : ports[p]);
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    assert.ok(Object.values(ports).includes(portOf(container.livenessProbe.httpGet.port)!));
    assert.ok(Object.values(ports).includes(portOf(container.readinessProbe.httpGet.port)!));
    const grpc = [container.startupProbe, container.readinessProbe, container.livenessProbe].find((p) => p?.grpc)?.grpc;
    assert.ok(grpc, "a gRPC probe");
    const servedOn = Object.entries(ports).find(([, port]) => port === grpc.port)?.[0] as "user" | "search";
    assert.ok(servedOn, `gRPC probe port ${grpc.port}`);
    assert.equal(grpc.service, services[servedOn].desc.typeName, "the health service knows this name on that port");
  });

  test("the ConfigMap is a config the service accepts, mounted where the args say, listening on every interface", () => {
    const configMap = one("ConfigMap");
    const volume = pod.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
    assert.ok(volume, "the ConfigMap is mounted");
    const mount = container.volumeMounts.find((m: any) => m.name === volume.name);
    const file = container.args[container.args.indexOf("-f") + 1];
    const key = Object.keys(configMap.data).find((k) => `${mount.mountPath}/${k}` === file);
    assert.ok(key, `-f ${file} is a key of the ConfigMap`);
    const path = join(dir.path, "k8s.yaml");
    writeFileSync(path, configMap.data[key]);
    const config = loadConfig({ file: path });
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.user.port, ports.user);
    assert.equal(config.search.port, ports.search);
  });

  test("every Secret reference names a Secret and key that exist, through a variable the code reads", () => {
    const secrets = new Map(docs.filter((d) => d.kind === "Secret").map((s) => [s.metadata.name, s]));
    const keysOf = (name: string) => Object.keys({ ...secrets.get(name)?.stringData, ...secrets.get(name)?.data });
    const known = new Set(Object.keys(envOverrides));
    for (const e of container.env) {
      assert.ok(known.has(e.name), `${e.name} is an environment variable the config reads`);
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) assert.ok(keysOf(ref.name).includes(ref.key), `${ref.name}/${ref.key}`);
    }
    for (const v of pod.volumes.filter((v: any) => v.secret)) assert.ok(secrets.has(v.secret.secretName), v.secret.secretName);
    // the signing key file is inside a mounted Secret, under a key it has
    const keyFile = container.env.find((e: any) => e.name === "SIGNING_KEY_FILE").value as string;
    const mount = container.volumeMounts.find((m: any) => keyFile.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    assert.ok(keysOf(volume.secret.secretName).includes(keyFile.slice(mount.mountPath.length + 1)));
  });

  test("the pod runs as non-root with a read-only root and a writable DataDir; the key files are readable by their owner only; the HPA scales this Deployment", () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.ok(container.volumeMounts.some((m: any) => m.mountPath === `/app/${defaultConfig.dataDir}`), "DataDir is writable");
    for (const v of pod.volumes.filter((v: any) => v.secret)) assert.equal(v.secret.defaultMode, 0o400, `${v.name}: mode 0400`);
    assert.ok(container.resources.requests.cpu, "the HPA needs a CPU request");
    const hpa = one("HorizontalPodAutoscaler");
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: "Deployment", name: deployment.metadata.name });
    assert.ok(hpa.spec.minReplicas >= 2);
  });
});

describe("the container image", () => {
  const dockerfile = readFileSync("Dockerfile", "utf8");
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1]!;

  test("is multi-stage; the runtime stage runs compiled JavaScript as a non-root user, with production dependencies only", () => {
    assert.ok(stages.length >= 2);
    assert.match(stages[0]!, /npm ci/);
    assert.match(stages[0]!, /npm run build/);
    assert.match(stages[0]!, /npm prune --omit=dev/);
    const user = /^USER (\S+)/m.exec(runtime)?.[1];
    assert.ok(user !== undefined && user !== "root" && user !== "0", `USER ${user}`);
    assert.match(runtime, /^ENTRYPOINT \["node", "dist\/run\.js"\]/m);
    assert.doesNotMatch(runtime, /tsx|COPY src|--import/);
    assert.deepEqual([...runtime.matchAll(/^EXPOSE (.+)$/gm)].flatMap((m) => m[1]!.split(/\s+/).map(Number)).sort(), [defaultConfig.user.port, defaultConfig.search.port].sort());
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    assert.equal("tsx" in pkg.dependencies, false, "tsx is a development dependency only");
    for (const ignored of ["node_modules", "data", "keys", ".git"]) assert.match(readFileSync(".dockerignore", "utf8"), new RegExp(`^${ignored.replace(".", "\\.")}$`, "m"));
  });

  test("runs a supported Node LTS line, the one CI runs the suite on besides Node 20", () => {
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-\S+/gm)].map((m) => Number(m[1]));
    assert.equal(bases.length, stages.length, "every stage is a Node image");
    const ci = /^NODE24_VERSION=(\d+)\./m.exec(readFileSync(".ci/run", "utf8"));
    assert.ok(ci, ".ci/run names the second Node version");
    for (const major of bases) {
      assert.ok(major >= 22 && major % 2 === 0, `node:${major} is not a supported LTS line`);
      assert.equal(major, Number(ci[1]), "the image runs the Node major CI tests");
    }
  });

  test("what it runs works: the compiled build serves with plain node, no TypeScript loader", async () => {
    await promisify(execFile)("npm", ["run", "-s", "build"]);
    assert.ok(existsSync("dist/run.js"));
    const cwd = dir.path;
    const [userPort, searchPort] = [await freePort(), await freePort()];
    const env = { ACCESS_SECRET: testSecret(), USER_PORT: String(userPort), SEARCH_PORT: String(searchPort) };
    const entry = "dist/run.js";
    const added = await runBookstore(["user", "add", "alice"], { cwd, env, stdin: "alice-password\n", entry });
    assert.equal(added.code, 0, added.stderr);
    const server = await startServerProcess(["serve"], { cwd, env, entry });
    try {
      const { accessToken } = await createClient(UserService, createConnectTransport({ baseUrl: `http://127.0.0.1:${userPort}`, httpVersion: "1.1" })).login({ username: "alice", password: "alice-password" });
      const found = await createClient(SearchService, createConnectTransport({ baseUrl: `http://127.0.0.1:${searchPort}`, httpVersion: "2" })).do({ name: "go-zero" }, { headers: { authorization: accessToken } });
      assert.equal(found.count, 100n);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
