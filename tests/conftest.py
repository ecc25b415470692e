"""Fixtures that start real components on free loopback ports (see tests/fixtures/)."""

pytest_plugins = [
    "tests.fixtures.ports",
    "tests.fixtures.postgres",
    "tests.fixtures.nats",
    "tests.fixtures.suite",
    "tests.fixtures.scaled",
    "tests.fixtures.keystone",
    "tests.fixtures.webhook_receiver",
]
