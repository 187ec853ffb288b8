"""The asyncio shell: the one event loop that feeds the sans-I/O core and does the I/O."""
