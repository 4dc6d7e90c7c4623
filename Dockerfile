# One image for every service: `docker run sluice start|intake|worker|runner|apps …`.
# Stage 1 installs the dependencies from the lock file and builds; stage 2 is the image that runs.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN npm install -g pnpm@12.4.2
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages ./packages
COPY services ./services
COPY test/package.json ./test/package.json
COPY bench/package.json ./bench/package.json
COPY scripts ./scripts
# The install's prepare step bundles the CLI and services into packages/cli/dist (esbuild).
RUN pnpm install --frozen-lockfile

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production SLUICE_HOST=0.0.0.0 SLUICE_DATA_DIR=/data
COPY --from=deps /app /app
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8000 9100
VOLUME /data
# The bundle's shebang line starts node with the services' flags (packages/cli/src/bin.ts).
ENTRYPOINT ["/app/packages/cli/dist/bin.js"]
CMD ["start"]
