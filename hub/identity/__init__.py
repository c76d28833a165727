"""Whose set it was: visits in, attribution decided from facts, presence and set attributions out."""
