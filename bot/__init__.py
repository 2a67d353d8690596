"""strategy-bot: the CIO's six social-business strategy conversations, run in chat."""

__version__ = "0.1.0"
