"""Teams adapter: Adaptive Card rendering of engine messages and parsing of card submits.

Cards (`cards`) and text escaping (`markdown`) are pure functions over the engine's outbound
models, so they are tested without botbuilder or a Teams tenant.
"""
