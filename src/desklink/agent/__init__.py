"""The agent: the program on the visitor's computer.

It captures the screen (:mod:`desklink.agent.capture`), finds what changed
and encodes it into protocol frames (:mod:`desklink.agent.encode`), injects
input, shows consent and control UI, and moves files.
"""
