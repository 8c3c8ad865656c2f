# Not tested in this project's CI (no Docker daemon there); see docs/deploy.md.
FROM python:3.11-slim
WORKDIR /srv/irlbot
COPY . .
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -e '.[postgres]'
USER nobody
STOPSIGNAL SIGTERM
CMD [".venv/bin/irlbot", "run", "--config", "/srv/irlbot/config.toml"]
