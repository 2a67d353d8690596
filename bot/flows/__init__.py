"""The conversation-flow engine: rounds, answers, commands and digests, with no platform in sight.

Adapters turn platform payloads into `bot.flows.events` and render `bot.flows.outbound`.
"""
