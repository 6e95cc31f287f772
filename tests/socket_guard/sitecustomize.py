"""Put on PYTHONPATH by the tests: every child Python process refuses outbound connections too."""

import ent_analytics_socket_guard

ent_analytics_socket_guard.install(log_to_file=True)
