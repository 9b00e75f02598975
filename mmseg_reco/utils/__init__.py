from .dist import init_cpu_dist
from .safe_globals import register_safe_globals, safe_globals

__all__ = ['init_cpu_dist', 'register_safe_globals', 'safe_globals']
