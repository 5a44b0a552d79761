from campaigns import admin_reports  # noqa: F401
