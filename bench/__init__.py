"""The benchmark suite: seed a province, then time webhooks, sweeps, dashboards and more."""
