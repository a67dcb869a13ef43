import type { ServiceImpl } from "@connectrpc/connect";
import { requireUserId } from "../auth/caller.js";
import type { SearchService } from "../gen/search/v1/search_pb.js";
import type { ServiceContext } from "../service-context.js";
import { searchBook } from "./search-book.js";

/** SearchService over the logic. `Do` logs the caller's `userId` from the verified claims. */
export function createSearchService(ctx: Pick<ServiceContext, "books" | "logger">): ServiceImpl<typeof SearchService> {
  return {
    async do(req, hctx) {
      const userId = requireUserId(hctx);
      const book = await searchBook(ctx, req.name);
      ctx.logger.info({ userId, book: book.name, count: book.count }, "search");
      return { name: book.name, count: BigInt(book.count) };
    },
    ping() {
      return {};
    },
  };
}
