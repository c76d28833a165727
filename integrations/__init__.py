"""Glue for Home Assistant and Grafana (imported as ``replens.integrations``)."""
