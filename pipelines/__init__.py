"""ENT analytics: from the ENT's raw logs and exports to figures, dashboards and press headlines."""
