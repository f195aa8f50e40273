# Parses the Prometheus text format on stdin with the Python
# prometheus_client parser (Debian's python3-prometheus-client; run it with
# /usr/bin/python3) and prints the families as JSON:
# [{"name", "type", "help", "samples": [[name, labels, value]]}], a value
# that is not finite as a string ("nan", "inf", "-inf"). A text the parser
# refuses exits non-zero with its error.
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({
        "name": f.name,
        "type": f.type,
        "help": f.documentation,
        "samples": [[s.name, s.labels, s.value if math.isfinite(s.value) else str(s.value)] for s in f.samples],
    })
print(json.dumps(out))
