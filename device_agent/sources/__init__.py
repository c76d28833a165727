"""Frame sources: video files, local cameras, RTSP/HTTP streams."""
