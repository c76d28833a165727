"""Grafana: provisioning files for the compose stack, and ``replens grafana push`` for an existing Grafana."""
