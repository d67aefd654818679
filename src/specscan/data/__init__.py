"""Labelled component descriptions: generation, validation and splits."""
