"""Reading the Prometheus text page the engine serves (shared by the metrics tests)."""

from __future__ import annotations


def parse_samples(text: str) -> dict[str, float]:
    """Every sample of the page as ``name{labels}`` → value (comments skipped)."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def sample_keys(samples: dict[str, float], prefix: str) -> list[str]:
    """The keys of ``samples`` that start with ``prefix`` (a name and some labels)."""
    return sorted(key for key in samples if key.startswith(prefix))
