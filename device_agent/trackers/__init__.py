"""Trackers turn frames into one position signal per station."""
