"""BlazePose person tracking (detector → rotated region → 33 landmarks) on OpenVINO."""
