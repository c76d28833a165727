"""Barbell tracking: the plate found per frame (circles, or a user's OpenVINO detector), tracked across frames."""
