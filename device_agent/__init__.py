"""Camera-side agent: frames in, reps and sets out over MQTT (imported as ``replens.device_agent``)."""
