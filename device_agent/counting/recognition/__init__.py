"""Recognising which exercise a set is, from the pose series alone (issue 14)."""

from replens.device_agent.counting.recognition.recognizer import (
    ExerciseRecognizer,
    Recognition,
    RecognizerSettings,
)

__all__ = ["ExerciseRecognizer", "Recognition", "RecognizerSettings"]
