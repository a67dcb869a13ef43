import type { ServiceImpl } from "@connectrpc/connect";
import { requireUserId } from "../auth/caller.js";
import { DoResponseSchema, type DoResponse, type SearchService } from "../gen/search/v1/search_pb.js";
import type { Logger } from "../logger.js";
import type { BookRecord } from "./book-store.js";
import { searchBook, type SearchBookDeps } from "./search-book.js";

/** What SearchService needs: the search logic's dependencies, and the log `Do` writes to. */
export interface SearchServiceDeps extends SearchBookDeps {
  logger: Logger;
}

/** SearchService over the logic. `Do` logs the caller's `userId` from the verified claims. */
export function createSearchService(deps: SearchServiceDeps): ServiceImpl<typeof SearchService> {
  const { logger } = deps;
  // the answer for each cached catalog record, made once and frozen: the serializer then
  // writes its bytes once too (flat-json.ts), for as long as the record stays cached
  const answers = new WeakMap<BookRecord, DoResponse>();
  const answer = (userId: number, book: BookRecord): DoResponse => {
    if (logger.isLevelEnabled("info")) logger.info({ userId, book: book.name, count: book.count }, "search");
    let message = answers.get(book);
    if (message === undefined) {
      // the message itself (what create() would return): Connect sends it as it is, not copied into a new one
      message = { $typeName: DoResponseSchema.typeName, name: book.name, count: BigInt(book.count) };
      if (Object.isFrozen(book)) answers.set(book, Object.freeze(message));
    }
    return message;
  };
  return {
    do(req, ctx) {
      const userId = requireUserId(ctx);
      const book = searchBook(deps, req.name);
      return book instanceof Promise ? book.then((b) => answer(userId, b)) : answer(userId, book);
    },
    ping() {
      return {};
    },
  };
}
