import type { ServiceImpl } from "@connectrpc/connect";
import { requireUserId } from "../auth/caller.js";
import { DoResponseSchema, type DoResponse, type SearchService } from "../gen/search/v1/search_pb.js";
import { then } from "../lib/then.js";
import type { Logger } from "../logger.js";
import { searchBook, type SearchBookDeps } from "./search-book.js";

/** What SearchService needs: the search logic's dependencies, and the log `Do` writes to. */
export interface SearchServiceDeps extends SearchBookDeps {
  logger: Logger;
}

/** SearchService over the logic. `Do` logs the caller's `userId` from the verified claims. */
export function createSearchService(deps: SearchServiceDeps): ServiceImpl<typeof SearchService> {
  return {
    do(req, ctx) {
      const userId = requireUserId(ctx);
      return then(searchBook(deps, req.name), (book) => {
        if (deps.logger.isLevelEnabled("info")) deps.logger.info({ userId, book: book.name, count: book.count }, "search");
        // the message itself (what create() would return): Connect sends it as it is, not copied into a new one
        const answer: DoResponse = { $typeName: DoResponseSchema.typeName, name: book.name, count: BigInt(book.count) };
        return answer;
      });
    },
    ping() {
      return {};
    },
  };
}
