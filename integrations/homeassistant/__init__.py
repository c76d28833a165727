"""Home Assistant: entity descriptions as data and the discovery payloads built from them."""
