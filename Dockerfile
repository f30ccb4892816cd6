# One image for every service of the exchange; the compose file picks the entry point.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY . .
RUN bash scripts/gen.sh
ENV NODE_ENV=production
CMD ["node", "--import", "tsx", "services/engine/main.ts"]
