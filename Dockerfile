# One image for the hub and the agents (the command picks the role). The identity extra (dlib and its
# face models, about 100 MB) is included so that an entrance camera runs from the same image.
FROM python:3.11.10-slim-bookworm
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir "/app[identity]" && useradd --system --uid 10001 replens && mkdir -p /data && chown replens /data
USER replens
ENTRYPOINT ["replens"]
CMD ["--help"]
