# One image for every service: `docker run sluice start|intake|worker|runner|apps …`.
# Stage 1 installs all dependencies from the lock file; stage 2 keeps production ones only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN npm install -g pnpm@12.4.2
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages ./packages
COPY services ./services
COPY test/package.json ./test/package.json
COPY bench/package.json ./bench/package.json
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
# tsx runs the TypeScript sources directly (no separate build output to drift from the code).
ENTRYPOINT ["node", "--max-semi-space-size=32", "--import", "tsx", "packages/cli/src/bin.ts"]
CMD ["start"]
