# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript and build the native SQLite addon in a full stage, then run the
# compiled JavaScript with production dependencies only, as a non-root user. No tsx at run time.
# Node 24: a supported LTS line (Node 20, which these build machines ship, is past end of life);
# .ci/run runs the whole suite on that same Node major.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary fits
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# the workspaces: the auth library (built by npm ci's prepare) and the example service
COPY packages ./packages
COPY examples ./examples
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# node_modules/protogate links here: the library's manifest and compiled code
COPY --from=build /app/packages/protogate/package.json ./packages/protogate/package.json
COPY --from=build /app/packages/protogate/dist ./packages/protogate/dist
COPY etc ./etc
# `bookstore ...` inside the container (user add, migrate, keys generate) runs the same build
RUN printf '#!/bin/sh\nexec node /app/dist/run.js "$@"\n' > /usr/local/bin/bookstore \
 && chmod 0755 /usr/local/bin/bookstore \
 && mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8888 8889
HEALTHCHECK --interval=10s --timeout=2s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8888/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/run.js"]
CMD ["serve", "-f", "etc/bookstore.yaml"]
