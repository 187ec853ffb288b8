.PHONY: soak

# Full fault-injection scenario set with the summary table (root; ~30 min).
soak:
	HATUI_SOAK=1 python3 -m bench.soak
