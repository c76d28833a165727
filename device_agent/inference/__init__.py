"""Model inference: OpenVINO compilation of the shipped, checksummed model files."""
