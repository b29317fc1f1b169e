"""The classic engine: precise, deterministic edits on any CPU."""

from engine.classic.backend import ClassicEngine

__all__ = ["ClassicEngine"]
