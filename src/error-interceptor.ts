import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { methodName } from "protogate";
import { AppError, isUnavailableError, toConnectError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * Maps what a handler throws onto the wire: {@link AppError}s through the error table, a
 * backend that cannot be reached to `unavailable`, anything else to a bare `internal` (logged
 * here by name and code, its message never sent to the client).
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      if (err instanceof AppError) throw toConnectError(err);
      const method = methodName(req.method);
      const code = (err as { code?: unknown } | null)?.code;
      if (isUnavailableError(err)) {
        logger.warn({ method, code }, "backend unavailable");
        throw toConnectError(new AppError("unavailable"));
      }
      logger.error({ method, error: (err as Error)?.name, code }, "unexpected error");
      throw new ConnectError("internal error", Code.Internal);
    }
  };
}
