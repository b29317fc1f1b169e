"""The chat agent: planners (rules, openai), the reference resolver, prompts and the turn loop."""

from agent.chat import ChatAgent, Turn
from agent.planners import SamplingOptions, build_planner
from agent.rules import RulesChatModel

__all__ = ["ChatAgent", "RulesChatModel", "SamplingOptions", "Turn", "build_planner"]
