"""The demo department: a generated Hauts-de-Seine ENT (logs and exports) whose true figures are known."""

from pipelines.demo.department import demo_files, generate_demo
from pipelines.demo.scale import estimated_log_lines, resolve_scale, scale_for_log_lines

__all__ = ["demo_files", "estimated_log_lines", "generate_demo", "resolve_scale", "scale_for_log_lines"]
