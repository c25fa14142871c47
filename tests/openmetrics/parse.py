"""Parses OpenMetrics text from stdin with the Prometheus project's own
parser (prometheus_client.openmetrics.parser, client_python) and prints
what it read as JSON: one object per family with its type, unit and
samples (name, labels, value, timestamp in seconds or null). A text the parser rejects exits 1 with its error."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

try:
    families = [
        {
            "name": f.name,
            "type": f.type,
            "unit": f.unit,
            "samples": [
                {
                    "name": s.name,
                    "labels": s.labels,
                    "value": s.value,
                    "timestamp": float(s.timestamp) if s.timestamp is not None else None,
                }
                for s in f.samples
            ],
        }
        for f in text_string_to_metric_families(sys.stdin.read())
    ]
except Exception as e:  # the parser's own error, whatever its class
    print(f"rejected: {e}", file=sys.stderr)
    sys.exit(1)
json.dump(families, sys.stdout)
