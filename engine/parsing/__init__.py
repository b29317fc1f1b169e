"""Instruction parsing: from a Chinese or English instruction to a typed ``EditPlan``.

``parse_instruction`` is the one entry point, used by ``Editor``, the CLI and the agent.
"""

from engine.parsing.options import ParseOptions
from engine.parsing.parser import parse_instruction

__all__ = ["ParseOptions", "parse_instruction"]
