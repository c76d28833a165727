"""Streaming rep and set counting from signal samples."""
