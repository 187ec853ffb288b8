.PHONY: soak soak-fast

# Full fault-injection scenario set of reliability.md §6 with the summary table
# (root; ~45 min: s16/s17 run 10 min each, s10 kills 20 times, s15 also runs real
# Heartbeat). `make soak S="s10 s25"` runs a subset; HATUI_SOAK_KILLS / HATUI_SOAK_FLIPS
# change s10's kills and s09's flips.
soak:
	HATUI_SOAK=1 python3 -m bench.soak $(S)

# The CI subset (pytest marker fast_soak; under 4 minutes).
soak-fast:
	python3 -m pytest tests/soak -m fast_soak -q
