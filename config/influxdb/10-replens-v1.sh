#!/bin/bash
# Runs once, when the InfluxDB 2.x container initialises its volume (docker-entrypoint-initdb.d):
# map the bucket to a v1 database (for InfluxQL in Grafana and v1 writers) and create a read-only
# v1 user for Grafana.
set -euo pipefail
influx v1 dbrp create --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" --db replens --rp autogen --default
influx v1 auth create --username grafana --password "${GRAFANA_INFLUX_PASSWORD}" \
  --read-bucket "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" --description "Grafana (read only)"
