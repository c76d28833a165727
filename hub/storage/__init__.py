"""Getting points into InfluxDB: line-protocol formatting (``line_protocol``) and write transports (``transports``).

Deliberately empty: importing ``line_protocol`` must not pull in influxdb-client (half a second of imports).
"""
