import type { DescService } from "@bufbuild/protobuf";
import { createServiceImplSpec, type ContextValues, type ServiceImpl } from "@connectrpc/connect";
import { createMethodUrl, type UniversalHandler, type UniversalHandlerOptions, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { withCallerFaults } from "../caller-fault.js";
import type { Intake } from "../intake.js";
import type { NodeRequest, NodeResponse } from "../node-handler.js";
import { callSignal } from "./call-signal.js";
import { createConnectUnary, plainConnectUnaryFormat } from "./connect-unary.js";
import { createGrpcUnary, isPlainGrpcUnary, singleEnvelope } from "./grpc-unary.js";
import { requestHeaders } from "./light-headers.js";
import { iterate, readBody } from "./request-body.js";
import { send, writeWhole } from "./write-response.js";

/**
 * The @connectrpc/connect release whose unary handling this module mirrors: its protocol
 * parts are assembled here (`connect-unary.ts`, `grpc-unary.ts`) in the order its own handler
 * uses them (connect-es `protocol-connect/handler-factory.ts` and
 * `protocol-grpc/handler-factory.ts`, 2.1.2). `test/http/lean-unary-version.test.ts` fails when
 * the installed version differs, so an upgrade forces a review of this copy against the new
 * release (and of `test/wire-equivalence.test.ts`, which holds the two byte for byte).
 */
export const mirroredConnectVersion = "2.1.2";

/**
 * The adapter's handling of what Connect answers with an empty body (405, 415, 505): true when
 * it has answered the call itself, false to write Connect's response as it is.
 */
export type ExplainEmpty = (req: NodeRequest, res: NodeResponse, handler: UniversalHandler, uRes: UniversalServerResponse) => boolean;

/** The lean unary path of one router: see {@link createLeanUnary}. */
export interface LeanUnary {
  /**
   * Registers the unary methods of a service as the router registers them (call it with the
   * same arguments as `router.service`). A service given options of its own is left to the
   * router's handler: the lean path is built with the router's options only.
   */
  service<T extends DescService>(service: T, implementation: Partial<ServiceImpl<T>>, options?: Partial<UniversalHandlerOptions>): void;
  /**
   * Serves one unary call of the router's `handler`, with `url` its validated absolute URL,
   * `intake` its share of the intake bounds and `contextValues` those of the call. Resolves
   * once the answer is written (or the client has gone); rejects when the call fails before its
   * answer, for the caller to report and answer.
   */
  serve(
    req: NodeRequest,
    res: NodeResponse,
    handler: UniversalHandler,
    url: string,
    intake: Intake,
    contextValues: ContextValues | undefined,
    explained: ExplainEmpty,
  ): Promise<void>;
}

/**
 * The lean path for unary calls next to a Connect router built with `options` (validated, as
 * `validateUniversalHandlerOptions` returns them; `onServed` hears of each call it serves itself): the request body is read into memory up to
 * the message limit instead of through an async generator, no AbortController is aborted (and
 * no DOMException created) when a call ends normally, and the response is written with one
 * `end(body)`. Plain Connect unary calls and single-message gRPC unary calls of a registered
 * service are served by Connect's own parts without its per-call handler context; every other
 * unary call goes to the router's handler, its response collected and written at once.
 *
 * @example
 * const lean = createLeanUnary(validateUniversalHandlerOptions(routerOptions));
 * lean.service(ElizaService, impl); // next to router.service(ElizaService, impl)
 * lean.serve(req, res, handler, url, intake, undefined, () => false).catch(report);
 */
export function createLeanUnary(options: UniversalHandlerOptions, onServed?: (protocol: "connect" | "grpc") => void): LeanUnary {
  const methods = new Map<string, { connect: ReturnType<typeof createConnectUnary>; grpc: ReturnType<typeof createGrpcUnary> }>();
  const readMaxBytes = options.readMaxBytes;
  return {
    service(desc, impl, serviceOptions) {
      if (serviceOptions !== undefined) return;
      for (const spec of Object.values(createServiceImplSpec(desc, impl).methods)) {
        if (spec.kind === "unary") {
          methods.set(createMethodUrl("/", spec.method), { connect: createConnectUnary(options, spec), grpc: createGrpcUnary(options, spec) });
        }
      }
    },
    async serve(req, res, handler, url, intake, contextValues, explained) {
      const signal = callSignal(res);
      const fast = methods.get(handler.requestPath);
      const header = requestHeaders(req.headers);
      const format = fast && plainConnectUnaryFormat(req.method, req.headers["content-type"], req.headers["connect-timeout-ms"] as string | undefined);
      // only the Connect path refuses a declared length over the limit from the header alone
      const chunks = await readBody(req, res, readMaxBytes, intake, format !== undefined);
      // each call object written out whole, in one order: a spread of a shared part gave the
      // property reads of connect-unary.ts and unary-context.ts a different shape per path
      if (fast !== undefined && format !== undefined) {
        onServed?.("connect");
        const r = await fast.connect({ url, header, signal, contextValues, binary: format.binary, body: iterate(chunks) });
        return send(res, r.status, r.header, undefined, r.body);
      }
      if (fast !== undefined && isPlainGrpcUnary(req.httpVersion, req.method, req.headers)) {
        const message = singleEnvelope(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), readMaxBytes);
        if (message !== undefined) {
          onServed?.("grpc");
          const r = await fast.grpc({ url, header, signal, contextValues, message });
          return send(res, r.status, r.header, r.trailer, r.body);
        }
      }
      const uRes = await withCallerFaults(await handler({ url, header, signal, contextValues, httpVersion: req.httpVersion, method: req.method ?? "", body: iterate(chunks) }), options.jsonOptions);
      if (!explained(req, res, handler, uRes)) await writeWhole(uRes, res);
    },
  };
}
