"""Central hub: validated events in from MQTT, durable record, InfluxDB out (imported as ``replens.hub``)."""
