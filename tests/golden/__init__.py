"""Golden scenarios: the resource policy's behaviour, frozen in readable transcripts.

Each ``scenarios/*.scn`` file holds a cluster configuration, a script of inputs and,
after each input, what the policy said and how its state changed. ``runner`` replays
them against ``ResourcePolicy`` with a fake clock; ``python -m tests.golden`` and
``test_golden.py`` show a diff when the policy's behaviour changes. The format is
documented in docs/architecture.md ("Golden scenarios").
"""
