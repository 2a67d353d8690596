"""Time-driven work: opening rounds on each conversation's cadence and the engine's tick."""

from bot.scheduling.scheduler import CadenceTrigger, RoundScheduler, SchedulerTarget

__all__ = ["CadenceTrigger", "RoundScheduler", "SchedulerTarget"]
