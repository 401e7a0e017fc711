# Agora in a container: one node, its data dir a volume, running as a non-root user.
# Build: docker build -t agora .   Run: docker run -p 127.0.0.1:8145:8145 -p 4001:4001 -v agora-data:/data agora
# (Not run on the build machine of this repository: it has no Docker. Checked by test/unit/deploy.test.ts.)

# ---- build: production dependencies only (the node runs TypeScript directly: no compile step)
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src

# ---- run
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    AGORA_DATA_DIR=/data \
    AGORA_API_HOST=0.0.0.0 \
    AGORA_NETWORK_LISTEN=/ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/tcp/4002/ws
WORKDIR /app
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8145 4001 4002
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8145/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/agora.js"]
CMD ["start", "--log-format", "json"]
