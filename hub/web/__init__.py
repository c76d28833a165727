"""The members' page the hub serves (``hub.web``): each member's own sets, claims, corrections and data."""
