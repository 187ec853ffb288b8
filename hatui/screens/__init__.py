"""Modal screens: action confirmations and help."""
