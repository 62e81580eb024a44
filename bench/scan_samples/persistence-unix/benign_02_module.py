"""Writes a systemd unit for the service this package provides, into a directory the admin passes."""

import sys
from pathlib import Path

UNIT = """[Unit]
Description=Metrics exporter
After=network-online.target

[Service]
ExecStart={python} -m metrics_exporter --port {port}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def write_unit(directory, port=9100):
    path = Path(directory) / "metrics-exporter.service"
    path.write_text(UNIT.format(python=sys.executable, port=port))
    print(f"wrote {path}; enable it with: systemctl enable --now metrics-exporter")
    return path
