# One image for every authbench role: a server (`npm run server -- …`) or the bench (`npm run bench -- …`).
# docker-compose.yml and deploy/kubernetes/ run it; the README's two commands need none of it.
FROM node:20-bookworm-slim
# taskset (util-linux) is in the base image; the bench pins its generator when it may
WORKDIR /authbench
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY servers ./servers
COPY harness ./harness
COPY scenarios ./scenarios
COPY report ./report
COPY scripts ./scripts
COPY tsconfig.json ./
# the servers bind 127.0.0.1 unless told otherwise: a container must say --host 0.0.0.0 (and --stats-host 0.0.0.0)
USER node
CMD ["npm", "run", "server", "--", "--help"]
