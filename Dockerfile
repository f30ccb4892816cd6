# One image for every service of the exchange; the compose file picks the entry point (command).
# Services run from TypeScript through tsx, so the dev dependencies are installed too. gen/ is
# generated here offline: buf comes as a per-platform npm binary and its only plugin is ts-proto
# from node_modules (buf.gen.yaml), so nothing is fetched after `npm ci`.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/gen.sh
ENV NODE_ENV=production
# Nothing writes under /app at run time; tsx's cache goes to the temp directory.
USER node
CMD ["node", "--import", "tsx", "services/engine/main.ts"]
